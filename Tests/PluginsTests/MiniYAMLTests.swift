import Foundation
import MiniYAML
import Testing

/// MiniYAML, the YAML reader of the config file and the manifests: what it reads must be what a real
/// YAML library reads (PyYAML, run here), and what it refuses it names with line and column.
@Suite("MiniYAML")
struct MiniYAMLTests {
    @Test("every shipped manifest reads as PyYAML reads it")
    func shippedManifestsMatchPyYAML() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Fixture.pluginsDirectory).sorted()
        var compared = 0
        for folder in folders {
            let path = "\(Fixture.pluginsDirectory)/\(folder)/plugin.yaml"
            guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            let node = try #require(try YAMLParser.parse(text))
            try #expect(Self.pyYAMLAgrees(text: text, json: Self.json(node)), "\(path)")
            compared += 1
        }
        #expect(compared == 6)
    }

    @Test("the YAML forms the config and manifests use read as PyYAML reads them", arguments: [
        "a: [1, 2.5, 'x', \"y\", true, null, ~]\nb: {c: 1, d: [e, f]}\n",
        "a: [1,\n  2,   # a comment inside\n  3]\nb: x\n",
        "a:\n- b\n- c\nd: e\n",
        "- name: a\n  v: 1\n- name: b\n  list:\n    - x\n    - y\n",
        "- - a\n  - b\n- - c\n",
        "a: \"one\n  two\n\n  three\"\nb: 'it''s'\n",
        "a: \"tab\\tnl\\nq\\\"u\\u00e9x\\x41\"\nb: \"joined\\\n  here\"\n",
        "a: one\n  two\n   three\nb: x\n",
        "# c\na: 1 # trailing\nb: 'x # not' # c\nc: x#y\n",
        "a:\nb: ~\nc: null\nd: ''\n",
        "a: https://x.y/z?q=1\nb: a:b\n",
        "\"a b\": 1\n'c': 2\nd e: 3\n",
        "---\na: 1\n",
        "a: 1\n...\n",
        "a: 1\r\nb: [x, y]\r\n",
        "a: -1\nb: +2\nc: 1.5\nd: 1_000\nh: 1.0.0\ni: \"11.1\"\n",
        "a:\n    b:\n        c: d\n    e: f\n",
        "名前: 値\na: \"é\"\n",
        "a: []\nb: {}\nc: [x, y,]\n",
        "-\n- a\n",
    ])
    func agreesWithPyYAML(text: String) throws {
        let node = try #require(try YAMLParser.parse(text))
        try #expect(Self.pyYAMLAgrees(text: text, json: Self.json(node)))
    }

    @Test("what it does not take is refused with its line, column and reason", arguments: [
        ("a: &x 1\nb: *x\n", "line 1, column 4: anchors (&) are not supported"),
        ("a: *x\n", "line 1, column 4: aliases (*) are not supported"),
        ("a: !!str 1\n", "line 1, column 4: tags (!) are not supported"),
        ("a: |\n  text\n", "line 1, column 4: block scalars (| and >) are not supported"),
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1: key 'a' appears twice in this mapping"),
        ("a:\n\tb: 1\n", "line 2, column 1: a tab in indentation"),
        ("name: [unclosed\n", "line 1, column 7: this collection is never closed with ']'"),
        ("a: \"abc\nb: 1\n", "line 1, column 4: this quoted string is never closed"),
        ("a: 1\n---\nb: 2\n", "line 2, column 1: only one YAML document is allowed"),
        ("a: b: c\n", "line 1, column 5: a ': ' inside a plain value (quote the value)"),
        ("a: 1\n  b: 2\n", "line 2, column 3: a ': ' or '- ' on a continuation line"),
        ("a:\n  b: 1\n    c: 2\n", "line 3, column 5: a ': ' or '- ' on a continuation line of a plain value"),
        ("a:\n  b: 1\n c: 2\n", "line 3, column 2: unexpected indentation (this mapping's keys are at column 1)"),
        ("a: \"\\q\"\n", "line 1, column 5: unknown escape '\\q'"),
        ("a: \"\\u12\"\n", "line 1, column 5: \\u needs 4 hex digits"),
        ("a: \"\\uD800\"\n", "line 1, column 5: \\u needs 4 hex digits naming a Unicode scalar"),
        ("a: x\u{0}y\n", "line 1, column 5: control character U+0 is not allowed"),
        ("a: 1\nb: \u{1B}[31m\n", "line 2, column 4: control character U+1B"),
        ("? a\n: b\n", "line 1, column 1: complex keys (?) are not supported"),
        ("a: 1\n- b\n", "line 2, column 1: a list item where a key was expected"),
        ("a: - b\n", "line 1, column 4: a list cannot start on the line of its key"),
        ("a: [b: c]\n", "line 1, column 6: a 'key: value' pair inside [ ] is not supported"),
        ("a: {x: 1, x: 2}\n", "line 1, column 11: key 'x' appears twice"),
        ("a: {x 1}\n", "line 1, column 8: expected ':' after the key"),
        ("a: [x y, z\n", "line 1, column 4: this collection is never closed"),
        ("a: [x, , z]\n", "line 1, column 8: unexpected ','"),
        ("%YAML 1.2\n---\na: 1\n", "line 1, column 1: directives (%) are not supported"),
        (": a\n", "line 1, column 1: a key is missing before ':'"),
        ("a: ]\n", "line 1, column 4: unexpected ']'"),
        ("a: \"x\" y\n", "line 1, column 8: unexpected text after the value"),
        ("a: @x\n", "line 1, column 4: '@' cannot start a plain value"),
        ("--- a\n", "line 1, column 4: content on the '---' line is not supported"),
    ])
    func refused(text: String, expected: String) {
        #expect {
            _ = try YAMLParser.parse(text)
        } throws: { error in
            guard let error = error as? YAMLError else { return false }
            return "\(error)".hasPrefix(expected)
        }
    }

    @Test("hostile nesting stops at the depth limit, in flow and in block form, instead of exhausting the stack")
    func deepNesting() throws {
        // Every level counts, the top mapping and its value too: the 63rd bracket is one too many.
        let flow = "a: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: YAMLError(YAMLMark(line: 1, column: 4 + YAMLParser.maxDepth - 2), "nested deeper than \(YAMLParser.maxDepth) levels")) {
            try YAMLParser.parse(flow)
        }
        let block = (0..<200).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " end\n"
        #expect {
            try YAMLParser.parse(block)
        } throws: { error in
            "\(error)".contains("nested deeper than \(YAMLParser.maxDepth) levels")
        }
        // Just within the limit reads.
        let fine = String(repeating: "[", count: YAMLParser.maxDepth - 2) + "x" + String(repeating: "]", count: YAMLParser.maxDepth - 2)
        #expect(try YAMLParser.parse("a: " + fine)?.mapping?["a"]?.sequence?.count == 1)
    }

    @Test("plain scalars: numbers, booleans and null only when unquoted; marks are 1-based line and column")
    func scalarsAndMarks() throws {
        let root = try #require(try YAMLParser.parse("a: 12\nb: \"12\"\nc: 1e3\nd: true\ne: 'true'\nf: ~\ng: 0x10\nh: nan\n  # c\nlist:\n  - x\n"))
        let map = try #require(root.mapping)
        #expect(map["a"]?.int == 12 && map["a"]?.float == 12)
        #expect(map["b"]?.int == nil && map["b"]?.string == "12")
        #expect(map["c"]?.float == 1000 && map["c"]?.int == nil)
        #expect(map["d"]?.bool == true && map["e"]?.bool == nil)
        #expect(map["f"]?.isNull == true && map["b"]?.isNull == false)
        // Swift's Double() would take hex and "nan": YAML's decimal form only.
        #expect(map["g"]?.float == nil && map["h"]?.float == nil)
        #expect(map["b"]?.mark == YAMLMark(line: 2, column: 4))
        #expect(map["list"]?.sequence?.first?.mark == YAMLMark(line: 11, column: 5))
        #expect(Array(map).map { $0.key.string ?? "" } == ["a", "b", "c", "d", "e", "f", "g", "h", "list"])
        #expect(try YAMLParser.parse("") == nil && YAMLParser.parse("# only a comment\n\n") == nil)
    }

    /// The node as JSON, numbers and booleans as YAML's core schema reads plain scalars.
    static func json(_ node: YAMLNode) -> String {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if node.isNull { return "null" }
                if let flag = node.bool { return flag ? "true" : "false" }
                if let number = node.int { return "\(number)" }
                if let number = node.float, number.isFinite { return "\(number)" }
            }
            let data = try? JSONEncoder().encode(scalar.string)
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"?\""
        case .mapping(let mapping):
            return "{" + mapping.map { "\(json($0.key)): \(json($0.value))" }.joined(separator: ", ") + "}"
        case .sequence(let items, _):
            return "[" + items.map(json).joined(separator: ", ") + "]"
        }
    }

    /// Whether PyYAML's `safe_load` of `text` equals `json` (compared in Python, so number formats do not matter).
    static func pyYAMLAgrees(text: String, json: String) throws -> Bool {
        let script = """
            import json, sys, yaml
            text, mine = sys.stdin.read().split("\\u0000")
            theirs = yaml.safe_load(text)
            ok = json.loads(mine) == theirs
            print("same" if ok else f"differs: pyyaml={theirs!r} mine={mine}")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data((text + "\u{0}" + json).utf8))
        try input.fileHandleForWriting.close()
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if answer.trimmingCharacters(in: .whitespacesAndNewlines) != "same" { Issue.record("\(answer)") }
        return process.terminationStatus == 0 && answer.hasPrefix("same")
    }
}
