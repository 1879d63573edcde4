/// Reads the YAML that podagent's config file and plugin manifests are written in, strictly, with
/// no Foundation: block mappings and sequences, flow `[...]` and `{...}`, plain, single- and
/// double-quoted scalars (multi-line ones folded as YAML folds them), comments, one document.
///
/// What it does not take it refuses with the line and column, rather than guessing: anchors and
/// aliases (so no alias bombs), tags, block scalars (`|`, `>`), complex keys, directives, repeated
/// keys, several documents, tabs in indentation, control characters, nesting deeper than
/// ``maxDepth``.
public struct YAMLParser {
    /// Nesting deeper than this is refused (a hostile `[[[[...` must not exhaust the stack).
    public static let maxDepth = 64

    /// Parses `text`; nil when it holds no node (empty, or only comments).
    public static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
        var parser = try YAMLParser(text)
        return try parser.document()
    }

    private var lines: [[Unicode.Scalar]]
    private var line = 0
    private var col = 0
    private var depth = 0

    private init(_ text: String) throws(YAMLError) {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var lines: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in scalars {
            if scalar == "\n" {
                if current.last == "\r" { current.removeLast() }
                lines.append(current)
                current = []
                continue
            }
            // YAML's printable set: tab, and no other C0 control, DEL or C1 control (NEL aside).
            let value = scalar.value
            if (value < 0x20 && value != 0x09 && value != 0x0D) || value == 0x7F || (value >= 0x80 && value < 0xA0 && value != 0x85) {
                throw YAMLError(YAMLMark(line: lines.count + 1, column: current.count + 1), "control character U+\(String(value, radix: 16, uppercase: true)) is not allowed")
            }
            current.append(scalar)
        }
        if current.last == "\r" { current.removeLast() }
        lines.append(current)
        self.lines = lines
    }

    // MARK: Document and block structure

    private mutating func document() throws(YAMLError) -> YAMLNode? {
        guard try skipToContent() else { return nil }
        if startsWith("---", at: indent(line)) && indent(line) == 0 && isBreak(line, 3) {
            col = 3
            guard restIsEmpty() else { throw error(at: col, "content on the '---' line is not supported") }
            line += 1
            guard try skipToContent() else { return nil }
        }
        if lines[line].first == "%" { throw error(at: 0, "directives (%) are not supported") }
        let root = try block(parentIndent: -1)
        guard try skipToContent() else { return root }
        if indent(line) == 0 && (startsWith("---", at: 0) || startsWith("...", at: 0)) {
            col = 3
            if startsWith("...", at: 0), isBreak(line, 3), restIsEmpty() {
                line += 1
                guard try skipToContent() else { return root }
            }
            throw error(at: 0, "only one YAML document is allowed")
        }
        throw error(at: indent(line), "unexpected content (check the indentation)")
    }

    /// The node starting at the current line, which is indented more than `parentIndent`.
    private mutating func block(parentIndent: Int) throws(YAMLError) -> YAMLNode {
        depth += 1
        defer { depth -= 1 }
        let start = indent(line)
        guard depth <= Self.maxDepth else { throw error(at: start, "nested deeper than \(Self.maxDepth) levels") }
        col = start
        if isSequenceItem(line, start) { return try blockSequence(indent: start) }
        if try key(line, start) != nil { return try blockMapping(indent: start) }
        return try inlineValue(parentIndent: parentIndent)
    }

    private mutating func blockMapping(indent mappingIndent: Int) throws(YAMLError) -> YAMLNode {
        let mark = YAMLMark(line: line + 1, column: mappingIndent + 1)
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var seen: Set<String> = []
        while try skipToContent() {
            let here = indent(line)
            if here < mappingIndent || isDocumentMarker(line) { break }
            if here > mappingIndent { throw error(at: here, "unexpected indentation (this mapping's keys are at column \(mappingIndent + 1))") }
            if isSequenceItem(line, here) { throw error(at: here, "a list item where a key was expected") }
            guard let (keyScalar, afterColon) = try key(line, here) else {
                throw error(at: here, "expected 'key: value'")
            }
            guard seen.insert(keyScalar.string).inserted else {
                throw YAMLError(keyScalar.mark, "key '\(keyScalar.string)' appears twice in this mapping")
            }
            col = afterColon
            let value: YAMLNode
            if restIsEmpty() {
                let emptyMark = YAMLMark(line: line + 1, column: afterColon + 1)
                line += 1
                col = 0
                if try skipToContent(), indent(line) > mappingIndent {
                    value = try block(parentIndent: mappingIndent)
                } else if line < lines.count, indent(line) == mappingIndent, isSequenceItem(line, mappingIndent) {
                    value = try blockSequence(indent: mappingIndent)
                } else {
                    value = .scalar(YAMLScalar(string: "", style: .plain, mark: emptyMark))
                }
            } else {
                skipSpaces()
                depth += 1
                defer { depth -= 1 }
                value = try inlineValue(parentIndent: mappingIndent)
            }
            pairs.append((.scalar(keyScalar), value))
        }
        return .mapping(YAMLMapping(mark: mark, pairs))
    }

    private mutating func blockSequence(indent sequenceIndent: Int) throws(YAMLError) -> YAMLNode {
        let mark = YAMLMark(line: line + 1, column: sequenceIndent + 1)
        var items: [YAMLNode] = []
        while try skipToContent() {
            let here = indent(line)
            if here < sequenceIndent || isDocumentMarker(line) { break }
            if here > sequenceIndent { throw error(at: here, "unexpected indentation (this list's items are at column \(sequenceIndent + 1))") }
            guard isSequenceItem(line, here) else { break }
            let itemMark = YAMLMark(line: line + 1, column: here + 1)
            // The item's content sits where it is written: blanking the dash makes a compact
            // `- key: value` an ordinary block indented to its first key.
            lines[line][here] = " "
            col = here + 1
            if restIsEmpty() {
                line += 1
                col = 0
                if try skipToContent(), indent(line) > sequenceIndent {
                    items.append(try block(parentIndent: sequenceIndent))
                } else {
                    items.append(.scalar(YAMLScalar(string: "", style: .plain, mark: itemMark)))
                }
            } else {
                items.append(try block(parentIndent: sequenceIndent))
            }
        }
        return .sequence(items, mark)
    }

    /// A value that starts on the current line at `col`: flow collection, quoted or plain scalar.
    /// Afterwards the cursor is at the start of the next line.
    private mutating func inlineValue(parentIndent: Int) throws(YAMLError) -> YAMLNode {
        guard let first = peek() else { throw error(at: col, "expected a value") }
        let node: YAMLNode
        switch first {
        case "[", "{", "\"", "'":
            node = try flowNode()
        case "-" where isBreak(line, col + 1):
            throw error(at: col, "a list cannot start on the line of its key (start it on the next line)")
        default:
            return try plainBlockScalar(parentIndent: parentIndent)
        }
        skipSpaces()
        guard restIsEmpty() else { throw error(at: col, "unexpected text after the value") }
        line += 1
        col = 0
        return node
    }

    /// A plain scalar in block context, with its continuation lines (indented more than the parent).
    private mutating func plainBlockScalar(parentIndent: Int) throws(YAMLError) -> YAMLNode {
        let mark = YAMLMark(line: line + 1, column: col + 1)
        try refuseIndicator()
        var text = try plainLine()
        line += 1
        col = 0
        while true {
            var probe = line
            var blanks = 0
            while probe < lines.count, isBlank(probe) {
                blanks += 1
                probe += 1
            }
            guard probe < lines.count, indent(probe) > parentIndent, !isComment(probe), !isDocumentMarker(probe) else { break }
            line = probe
            col = indent(probe)
            let looksLikeKey = try key(line, col) != nil
            if isSequenceItem(line, col) || looksLikeKey {
                throw error(at: col, "a ': ' or '- ' on a continuation line of a plain value (quote the value, or check the indentation)")
            }
            text += blanks == 0 ? " " : String(repeating: "\n", count: blanks)
            text += try plainLine()
            line += 1
            col = 0
        }
        return .scalar(YAMLScalar(string: text, style: .plain, mark: mark))
    }

    /// The rest of a plain scalar's line up to a comment, trailing spaces trimmed. A `: ` inside
    /// is refused: YAML would read a mapping there.
    private mutating func plainLine() throws(YAMLError) -> String {
        var text = String.UnicodeScalarView()
        let current = lines[line]
        while col < current.count {
            let c = current[col]
            if c == "#", col > 0, current[col - 1] == " " || current[col - 1] == "\t" { break }
            if c == ":", isBreak(line, col + 1) {
                throw error(at: col, "a ': ' inside a plain value (quote the value)")
            }
            text.append(c)
            col += 1
        }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }

    // MARK: Keys

    /// The key of a `key: value` line starting at `start`, and the column after its colon; nil when
    /// the line is not a mapping entry.
    private mutating func key(_ index: Int, _ start: Int) throws(YAMLError) -> (YAMLScalar, Int)? {
        let current = lines[index]
        guard start < current.count else { return nil }
        let first = current[start]
        if first == "\"" || first == "'" {
            // A quoted key: the quoted text on this line, then optional spaces and ':'.
            var end = start + 1
            while end < current.count {
                if current[end] == first {
                    if first == "'", end + 1 < current.count, current[end + 1] == "'" { end += 2; continue }
                    break
                }
                if first == "\"", current[end] == "\\" { end += 1 }
                end += 1
            }
            var after = end + 1
            while after < current.count, current[after] == " " { after += 1 }
            guard after < current.count, current[after] == ":", isBreak(index, after + 1) else { return nil }
            let (savedLine, savedCol) = (line, col)
            line = index
            col = start
            let node = try flowNode()
            line = savedLine
            col = savedCol
            guard let scalar = node.scalar else { return nil }
            return (scalar, after + 1)
        }
        if "[{#".unicodeScalars.contains(first) { return nil }
        var end = start
        while end < current.count {
            let c = current[end]
            if c == "#", end > start, current[end - 1] == " " { return nil }
            if c == ":", isBreak(index, end + 1) { break }
            end += 1
        }
        guard end < current.count else { return nil }
        var text = String.UnicodeScalarView(current[start..<end])
        while let last = text.last, last == " " { text.removeLast() }
        let mark = YAMLMark(line: index + 1, column: start + 1)
        guard !text.isEmpty else { throw YAMLError(mark, "a key is missing before ':'") }
        let (savedLine, savedCol) = (line, col)
        line = index
        col = start
        try refuseIndicator()
        line = savedLine
        col = savedCol
        return (YAMLScalar(string: String(text), style: .plain, mark: mark), end + 1)
    }

    // MARK: Flow context

    private mutating func flowNode() throws(YAMLError) -> YAMLNode {
        guard let first = peek() else { throw error(at: col, "expected a value") }
        switch first {
        case "[": return try flowSequence()
        case "{": return try flowMapping()
        case "\"": return .scalar(try quoted(double: true))
        case "'": return .scalar(try quoted(double: false))
        default:
            let mark = YAMLMark(line: line + 1, column: col + 1)
            try refuseIndicator()
            var text = String.UnicodeScalarView()
            let current = lines[line]
            while col < current.count {
                let c = current[col]
                if ",[]{}".unicodeScalars.contains(c) { break }
                if c == "#", col > 0, current[col - 1] == " " { break }
                if c == ":", col + 1 >= current.count || " ,[]{}".unicodeScalars.contains(current[col + 1]) { break }
                text.append(c)
                col += 1
            }
            while let last = text.last, last == " " || last == "\t" { text.removeLast() }
            guard !text.isEmpty else { throw YAMLError(mark, "expected a value") }
            return .scalar(YAMLScalar(string: String(text), style: .plain, mark: mark))
        }
    }

    private mutating func flowSequence() throws(YAMLError) -> YAMLNode {
        let mark = try enterFlow()
        var items: [YAMLNode] = []
        while true {
            try skipFlowSpace(mark, "]")
            if peek() == "]" { col += 1; break }
            let item = try flowNode()
            try skipFlowSpace(mark, "]")
            if peek() == ":" { throw error(at: col, "a 'key: value' pair inside [ ] is not supported (use { })") }
            items.append(item)
            if peek() == "," { col += 1; continue }
            if peek() == "]" { col += 1; break }
            throw error(at: col, "expected ',' or ']'")
        }
        depth -= 1
        return .sequence(items, mark)
    }

    private mutating func flowMapping() throws(YAMLError) -> YAMLNode {
        let mark = try enterFlow()
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var seen: Set<String> = []
        while true {
            try skipFlowSpace(mark, "}")
            if peek() == "}" { col += 1; break }
            if peek() == "[" || peek() == "{" { throw error(at: col, "a key must be a scalar") }
            let key = try flowNode()
            guard let keyScalar = key.scalar else { throw YAMLError(key.mark, "a key must be a scalar") }
            guard seen.insert(keyScalar.string).inserted else {
                throw YAMLError(keyScalar.mark, "key '\(keyScalar.string)' appears twice in this mapping")
            }
            try skipFlowSpace(mark, "}")
            guard peek() == ":" else { throw error(at: col, "expected ':' after the key") }
            col += 1
            try skipFlowSpace(mark, "}")
            let value: YAMLNode
            if peek() == "," || peek() == "}" {
                value = .scalar(YAMLScalar(string: "", style: .plain, mark: YAMLMark(line: line + 1, column: col + 1)))
            } else {
                value = try flowNode()
            }
            pairs.append((key, value))
            try skipFlowSpace(mark, "}")
            if peek() == "," { col += 1; continue }
            if peek() == "}" { col += 1; break }
            throw error(at: col, "expected ',' or '}'")
        }
        depth -= 1
        return .mapping(YAMLMapping(mark: mark, pairs))
    }

    private mutating func enterFlow() throws(YAMLError) -> YAMLMark {
        let mark = YAMLMark(line: line + 1, column: col + 1)
        depth += 1
        guard depth <= Self.maxDepth else { throw YAMLError(mark, "nested deeper than \(Self.maxDepth) levels") }
        col += 1
        return mark
    }

    /// Skips spaces, line breaks and comments inside a flow collection opened at `open`.
    private mutating func skipFlowSpace(_ open: YAMLMark, _ closer: String) throws(YAMLError) {
        while true {
            guard line < lines.count else { throw YAMLError(open, "this collection is never closed with '\(closer)'") }
            let current = lines[line]
            while col < current.count, current[col] == " " || current[col] == "\t" { col += 1 }
            if col < current.count, current[col] == "#", col == 0 || current[col - 1] == " " || current[col - 1] == "\t" {
                col = current.count
            }
            if col < current.count { return }
            line += 1
            col = 0
        }
    }

    // MARK: Quoted scalars

    private mutating func quoted(double: Bool) throws(YAMLError) -> YAMLScalar {
        let mark = YAMLMark(line: line + 1, column: col + 1)
        let quote: Unicode.Scalar = double ? "\"" : "'"
        col += 1
        var text = String.UnicodeScalarView()
        var pending = String.UnicodeScalarView()  // spaces that count only if the line goes on
        while true {
            let current = lines[line]
            if col >= current.count {
                // A line break inside quotes folds: to a space, or to one newline per empty line.
                pending.removeAll()
                var empty = 0
                repeat {
                    line += 1
                    guard line < lines.count else { throw YAMLError(mark, "this quoted string is never closed") }
                    col = 0
                    while col < lines[line].count, lines[line][col] == " " || lines[line][col] == "\t" { col += 1 }
                    if col >= lines[line].count { empty += 1 } else { break }
                } while true
                if isDocumentMarker(line) { throw YAMLError(mark, "this quoted string is never closed") }
                text.append(contentsOf: empty == 0 ? [" "] : Array(repeating: "\n", count: empty))
                continue
            }
            let c = current[col]
            if c == quote {
                if !double, col + 1 < current.count, current[col + 1] == "'" {
                    text.append(contentsOf: pending)
                    pending.removeAll()
                    text.append("'")
                    col += 2
                    continue
                }
                text.append(contentsOf: pending)
                col += 1
                return YAMLScalar(string: String(text), style: double ? .doubleQuoted : .singleQuoted, mark: mark)
            }
            if c == " " || c == "\t" {
                pending.append(c)
                col += 1
                continue
            }
            text.append(contentsOf: pending)
            pending.removeAll()
            if double, c == "\\" {
                col += 1
                if col >= current.count {
                    // An escaped line break: the next line joins without a space.
                    line += 1
                    guard line < lines.count else { throw YAMLError(mark, "this quoted string is never closed") }
                    col = 0
                    while col < lines[line].count, lines[line][col] == " " || lines[line][col] == "\t" { col += 1 }
                    continue
                }
                text.append(try escape())
                continue
            }
            text.append(c)
            col += 1
        }
    }

    /// The character a double-quoted escape stands for; the cursor is on the letter after `\`.
    private mutating func escape() throws(YAMLError) -> Unicode.Scalar {
        let current = lines[line]
        let letter = current[col]
        col += 1
        switch letter {
        case "0": return "\u{0}"
        case "a": return "\u{7}"
        case "b": return "\u{8}"
        case "t", "\t": return "\t"
        case "n": return "\n"
        case "v": return "\u{B}"
        case "f": return "\u{C}"
        case "r": return "\r"
        case "e": return "\u{1B}"
        case " ": return " "
        case "\"": return "\""
        case "/": return "/"
        case "\\": return "\\"
        case "N": return "\u{85}"
        case "_": return "\u{A0}"
        case "L": return "\u{2028}"
        case "P": return "\u{2029}"
        case "x", "u", "U":
            let width = letter == "x" ? 2 : letter == "u" ? 4 : 8
            guard col + width <= current.count,
                let value = UInt32(String(String.UnicodeScalarView(current[col..<col + width])), radix: 16),
                let scalar = Unicode.Scalar(value)
            else { throw error(at: col - 2, "\\\(letter) needs \(width) hex digits naming a Unicode scalar") }
            col += width
            return scalar
        default:
            throw error(at: col - 2, "unknown escape '\\\(letter)'")
        }
    }

    // MARK: Helpers

    /// Refuses what this reader does not take, at the start of a value or key.
    private func refuseIndicator() throws(YAMLError) {
        guard let c = peek() else { return }
        let problem: String? =
            switch c {
            case "&": "anchors (&) are not supported"
            case "*": "aliases (*) are not supported"
            case "!": "tags (!) are not supported"
            case "|", ">": "block scalars (| and >) are not supported (use a quoted string)"
            case "%": "directives (%) are not supported"
            case "@", "`": "'\(c)' cannot start a plain value (quote the value)"
            case "?" where isBreak(line, col + 1): "complex keys (?) are not supported"
            case ":" where isBreak(line, col + 1): "a key is missing before ':'"
            case "]", "}", ",": "unexpected '\(c)'"
            default: nil
            }
        if let problem { throw error(at: col, problem) }
    }

    private func peek() -> Unicode.Scalar? {
        guard line < lines.count, col < lines[line].count else { return nil }
        return lines[line][col]
    }

    private func error(at column: Int, _ problem: String) -> YAMLError {
        YAMLError(YAMLMark(line: line + 1, column: column + 1), problem)
    }

    /// Moves to the next line with content; false at the end. A tab in indentation is refused.
    private mutating func skipToContent() throws(YAMLError) -> Bool {
        while line < lines.count {
            if !isBlank(line) && !isComment(line) {
                let here = indent(line)
                if lines[line][here] == "\t" { throw error(at: here, "a tab in indentation (use spaces)") }
                return true
            }
            line += 1
            col = 0
        }
        return false
    }

    private func indent(_ index: Int) -> Int {
        var count = 0
        while count < lines[index].count, lines[index][count] == " " { count += 1 }
        return count
    }

    private func isBlank(_ index: Int) -> Bool {
        lines[index].allSatisfy { $0 == " " || $0 == "\t" }
    }

    private func isComment(_ index: Int) -> Bool {
        lines[index].first { $0 != " " && $0 != "\t" } == "#"
    }

    private func isDocumentMarker(_ index: Int) -> Bool {
        (startsWith("---", at: 0, index) || startsWith("...", at: 0, index)) && isBreak(index, 3)
    }

    private func isSequenceItem(_ index: Int, _ at: Int) -> Bool {
        at < lines[index].count && lines[index][at] == "-" && isBreak(index, at + 1)
    }

    /// Whether `at` is past the end of the line or a space or tab.
    private func isBreak(_ index: Int, _ at: Int) -> Bool {
        at >= lines[index].count || lines[index][at] == " " || lines[index][at] == "\t"
    }

    private func startsWith(_ prefix: String, at: Int, _ index: Int? = nil) -> Bool {
        let current = lines[index ?? line]
        let wanted = Array(prefix.unicodeScalars)
        return at + wanted.count <= current.count && Array(current[at..<at + wanted.count]) == wanted
    }

    private mutating func skipSpaces() {
        while let c = peek(), c == " " || c == "\t" { col += 1 }
    }

    /// Whether only spaces or a comment remain on the current line from `col`.
    private func restIsEmpty() -> Bool {
        let current = lines[line]
        var at = col
        while at < current.count, current[at] == " " || current[at] == "\t" { at += 1 }
        if at >= current.count { return true }
        return current[at] == "#" && (at == 0 || current[at - 1] == " " || current[at - 1] == "\t")
    }
}
