import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Plugins
import Testing

@testable import Agent

@Suite("Model plugins in the agent: catalog, /v2/models, readiness")
struct ModelsControllerTests {
    static func makeAgent(models: [String]) throws -> TestAgent {
        var config = AgentConfig()
        config.http.host = "127.0.0.1"
        config.http.port = 0
        config.pluginsDir = ModelsTestSupport.pluginsDir
        config.models = models
        return TestAgent(
            config: config, stateDir: try ModelsTestSupport.temporaryDirectory("state"), logger: Logger(label: "test"),
            gpuProbe: NoGPUForModelTests(), models: try ModelCatalog.load(config: config))
    }

    static func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test("GET /v2/models lists every manifest with its enabled flag")
    func listModels() async throws {
        let agent = try Self.makeAgent(models: ["petr", "VAD"])
        let app = Application(router: agent.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/models", method: .get) { response in
                #expect(response.status == .ok)
                let models = try #require(try Self.object(response.body)["models"] as? [[String: Any]])
                #expect(models.compactMap { $0["name"] as? String } == ["Demo", "MapTR", "PETR", "StreamPETR", "TopoMLP", "VAD"])
                let enabled = models.filter { $0["enabled"] as? Bool == true }.compactMap { $0["name"] as? String }
                #expect(enabled == ["PETR", "VAD"])
                let petr = try #require(models.first { $0["name"] as? String == "PETR" })
                #expect(petr["state"] as? String == "validating" && petr["ready"] as? Bool == false)
                #expect(models.first { $0["name"] as? String == "MapTR" }?["state"] as? String == "disabled")
            }
        }
    }

    @Test("GET /v2/models/{name} answers OIP metadata naming what infer takes and answers; unknown names are 404")
    func modelMetadata() async throws {
        let app = Application(router: try Self.makeAgent(models: []).buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/models/StreamPETR", method: .get) { response in
                #expect(response.status == .ok)
                let body = try Self.object(response.body)
                #expect(Set(body.keys) == ["name", "versions", "platform", "inputs", "outputs"])
                #expect(body["name"] as? String == "StreamPETR")
                #expect(body["versions"] as? [String] == ["1.0.0"])
                // Infer answers one output, `result` (the standard result as JSON text), whatever the model.
                let outputs = try #require(body["outputs"] as? [[String: Any]])
                #expect(outputs.count == 1)
                #expect(outputs.first?["name"] as? String == "result")
                #expect(outputs.first?["datatype"] as? String == "BYTES")
                #expect(outputs.first?["shape"] as? [Int] == [1])
                let inputs = try #require(body["inputs"] as? [[String: Any]])
                #expect(inputs.map { $0["name"] as? String } == ["sample"])
            }
            try await client.execute(uri: "/v2/models/topomlp", method: .get) { response in
                #expect(response.status == .ok)
                let body = try Self.object(response.body)
                #expect(body["platform"] as? String == "pytorch_mmdetection")
            }
            try await client.execute(uri: "/v2/models/yolo", method: .get) { response in
                #expect(response.status == .notFound)
                let message = try #require(try Self.object(response.body)["error"] as? String)
                #expect(message.hasPrefix("model 'yolo' is not known"))
            }
        }
    }

    @Test("an unknown model name in `models` stops startup, naming it")
    func unknownModel() throws {
        var config = AgentConfig()
        config.pluginsDir = ModelsTestSupport.pluginsDir
        config.models = ["PETR", "yolo"]
        #expect(throws: AgentError.self) { _ = try ModelCatalog.load(config: config) }
        do {
            _ = try ModelCatalog.load(config: config)
        } catch {
            #expect(error.code == .invalidConfig && error.message.hasPrefix("models: unknown model 'yolo'"))
        }
        config.models = ["all"]
        #expect(try ModelCatalog.load(config: config).enabled.count == 6)  // the five models and the synthetic Demo
    }

    @Test("a malformed manifest stops startup with the file, key and problem")
    func malformedManifest() throws {
        let dir = try ModelsTestSupport.temporaryDirectory("bad-plugins")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/Broken", withIntermediateDirectories: true)
        let text = try String(contentsOfFile: ModelsTestSupport.pluginsDir + "/PETR/plugin.yaml", encoding: .utf8)
            .replacingOccurrences(of: "parser: petr", with: "parser: petr2")
        try text.write(toFile: "\(dir)/Broken/plugin.yaml", atomically: true, encoding: .utf8)
        var config = AgentConfig()
        config.pluginsDir = dir
        do {
            _ = try ModelCatalog.load(config: config)
            Issue.record("a manifest with an unknown parser was accepted")
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.message.hasPrefix("\(dir)/Broken/plugin.yaml: key 'parser': unknown parser 'petr2'"))
        }
    }

    @Test("models and checkpoints_dir come from YAML and PODAGENT_MODELS")
    func configKeys() throws {
        let dir = try ModelsTestSupport.temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "models: [PETR, VAD]\ncheckpoints_dir: /data/ckpt\n".write(toFile: "\(dir)/podagent.yaml", atomically: true, encoding: .utf8)
        let fromFile = try ConfigLoader(file: "\(dir)/podagent.yaml", environment: [:]).load()
        #expect(fromFile.models == ["PETR", "VAD"] && fromFile.checkpointsDir == "/data/ckpt")
        let fromEnv = try ConfigLoader(file: "\(dir)/podagent.yaml", environment: ["PODAGENT_MODELS": "MapTR, TopoMLP"]).load()
        #expect(fromEnv.models == ["MapTR", "TopoMLP"])
        #expect(AgentConfig().models.isEmpty)
    }

    @Test("enabled models are checked at start and failures show in readiness and /health")
    func checksReportReadiness() async throws {
        let agent = try Self.makeAgent(models: ["PETR"])
        let service = agent.checks
        // Not ready from the moment the checks exist, before they ran.
        #expect(agent.readiness.evaluate().ready == false)
        #expect(agent.readiness.snapshot["model:PETR"]?.state == "validating")
        // The manifest's config path is inside the image and the checkpoint is absent here, so the checks must fail.
        let task = Task { try await service.run() }
        var status: PartStatus?
        for _ in 0..<200 {
            status = agent.readiness.snapshot["model:PETR"]
            if status?.state != "validating" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        let final = try #require(status)
        #expect(final.state == "invalid" && final.ready == false)
        #expect(final.reason?.contains("config /opt/models/PETR/projects/configs/petr/petr_r50dcn_gridmask_p4.py does not exist") == true)
        #expect(final.reason?.contains("checkpoint /workspace/checkpoints/petr_r50dcn_gridmask_p4.pth does not exist") == true)
        let report = agent.healthReport()
        #expect(report.ready == false && report.parts["model:PETR"]?.state == "invalid")
        // What the engine waits on says the same, as a value (not a readiness string).
        #expect(await agent.checkOutcomes.outcome(of: "PETR") == .failed(final.reason ?? ""))
    }
}
