import Foundation
import Plugins
import Testing

@testable import Agent

/// The standard result checked against docs/result.schema.json by Python's jsonschema, run as a child process.
@Suite("Standard result against its JSON Schema (python3 + jsonschema)")
struct ResultSchemaTests {
    static let validator = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        for path in sys.argv[2:]:
            jsonschema.validate(json.load(open(path)), schema, cls=jsonschema.Draft202012Validator)
        print("valid", len(sys.argv) - 2)
        """

    static func results() throws -> [(String, StandardResult)] {
        let catalog = try ModelCatalog.load(config: {
            var config = AgentConfig()
            config.pluginsDir = ModelsTestSupport.pluginsDir
            return config
        }())
        var out: [(String, StandardResult)] = []
        for (model, name) in [("maptr", "MapTR"), ("petr", "PETR"), ("streampetr", "StreamPETR"), ("topomlp", "TopoMLP"), ("vad", "VAD")] {
            let plugin = try #require(catalog.plugin(named: name))
            for variant in ["typical", "zero", "nan"] {
                let data = try #require(FileManager.default.contents(atPath: "\(ModelsTestSupport.fixtures)/\(model)_\(variant).json"))
                let options = ParseOptions(includeRaw: variant == "nan", denseTopology: variant == "typical")
                out.append(("\(model)_\(variant)", try plugin.parse(rawJSON: Array(data), options: options)))
            }
        }
        return out
    }

    @Test("every model's results validate")
    func resultsValidate() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("schema")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var paths: [String] = []
        for (name, result) in try Self.results() {
            let path = "\(dir)/\(name).json"
            try result.jsonData(pretty: true).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let schema = ModelsTestSupport.repositoryRoot + "/docs/result.schema.json"
        let output = try await ModelsTestSupport.python(["-c", Self.validator, schema] + paths)
        #expect(output.status == .exited(0), "\(output.stderr)")
        #expect(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "valid 15")
    }

    @Test("a result that breaks the schema is caught (the check can fail)")
    func brokenResultFails() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("schema-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var result = try #require(try Self.results().first { $0.0 == "petr_typical" }?.1)
        result.detections?[0].sizeWlh = [1, 2]
        try result.jsonData().write(to: URL(fileURLWithPath: "\(dir)/bad.json"))
        let schema = ModelsTestSupport.repositoryRoot + "/docs/result.schema.json"
        let output = try await ModelsTestSupport.python(["-c", Self.validator, schema, "\(dir)/bad.json"])
        #expect(output.status == .exited(1))
        #expect(output.stderr.contains("ValidationError"))
    }
}
