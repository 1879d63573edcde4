import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import Agent

/// How the parts are wired (issue 19): inference has one handle that the routes and /health share,
/// the engine waits on the checks' outcome as a value, timings are written once into each answer.
/// Over the real engine with the real Demo worker (the synthetic model: no GPU or weights here).
@Suite("Composition: one inference handle, the checks' outcome, timings once (real engine, Demo worker)")
struct CompositionTests {
    static func demoAgent(token: String = "t-\(UUID().uuidString.prefix(8))") throws -> TestAgent {
        var config = AgentConfig()
        config.http.host = "127.0.0.1"
        config.http.port = 0
        config.pluginsDir = InferenceTestSupport.pluginsDir
        config.models = ["Demo"]
        config.inference.killGrace = 1
        config.inference.loadTimeout = 60
        config.inference.python = TestSupport.workerPython
        return TestAgent(
            config: config, stateDir: try TestSupport.temporaryDirectory("composition"), logger: Logger(label: "composition-test"),
            gpuProbe: FakeGPUProbe(), models: try ModelCatalog.load(config: config), apiToken: try APIToken(token, source: "test"))
    }

    @Test("the outcome is a value: a waiter before and after publishing gets it, the first one counts, cancellation ends the wait")
    func checkOutcomes() async throws {
        let outcomes = ModelCheckOutcomes()
        let early = Task { await outcomes.outcome(of: "A") }
        let cancelled = Task { await outcomes.outcome(of: "B") }
        // Waits until the early waiter is parked (or has its answer) before publishing; either way it must get `.passed`.
        try await Task.sleep(for: .milliseconds(50))
        outcomes.publish("A", .passed)
        outcomes.publish("A", .failed("too late"))
        #expect(await early.value == .passed)
        #expect(await outcomes.outcome(of: "A") == .passed)
        cancelled.cancel()
        #expect(await cancelled.value == nil)
        outcomes.publish("B", .failed("config missing"))
        #expect(await outcomes.outcome(of: "B") == .failed("config missing"))
    }

    @Test("a model whose checks failed is not started, and says why; one whose checks passed serves")
    func engineWaitsOnTheOutcome() async throws {
        let agent = try Self.demoAgent()
        let group = ServiceGroup(
            services: [InferenceEngineService(engine: agent.engine, checks: agent.checkOutcomes)], logger: agent.logger)
        let running = Task { try await group.run() }
        agent.checkOutcomes.publish("Demo", .failed("checkpoint /x.pth does not exist"))
        #expect(await eventually { await agent.engine.status(of: "Demo")?.reason?.contains("checks before inference failed: checkpoint /x.pth does not exist") == true })
        let status = try #require(await agent.engine.status(of: "Demo"))
        #expect(status.state == "UNAVAILABLE" && status.instances.isEmpty)
        await group.triggerGracefulShutdown()
        try await running.value

        let passing = try Self.demoAgent()
        let second = ServiceGroup(
            services: [InferenceEngineService(engine: passing.engine, checks: passing.checkOutcomes)], logger: passing.logger)
        let serving = Task { try await second.run() }
        passing.checkOutcomes.publish("Demo", .passed)
        #expect(await eventually(timeout: .seconds(90)) { await passing.engine.status(of: "Demo")?.isReady == true })
        await second.triggerGracefulShutdown()
        try await serving.value
        #expect(await passing.engine.status(of: "Demo")?.instances.isEmpty == true)
    }

    @Test("HTTP over the real engine: the answer's timings are written once (the four *_s keys), /health shows the handle the routes use")
    func oneHandleOverHTTP() async throws {
        let agent = try Self.demoAgent(token: "composition-token")
        let loaded = try await agent.engine.load("Demo", overrides: ModelOverrides())
        let pid = try #require(loaded.instances.first?.pid)
        defer { Task { _ = try? await agent.engine.unload("Demo") } }
        let headers: HTTPFields = [.authorization: "Bearer composition-token", .contentType: "application/json"]
        let app = Application(router: agent.buildRouter())
        try await app.test(.router) { client in
            let body = try jsonBody(["inputs": ["sample_id": "s1"], "options": ["raw_format": "vad", "score_threshold": 0]])
            try await client.execute(uri: "/models/Demo/infer", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                let meta = try #require(response.body.object["meta"] as? [String: Any])
                let timings = try #require(meta["timings_seconds"] as? [String: Double])
                #expect(Set(timings.keys) == ["queue_s", "inference_s", "parse_s", "total_s"], "\(timings)")
            }
            try await client.execute(uri: "/v2/models/Demo/ready", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/health", method: .get, headers: headers) { response in
                let report = try JSONDecoder().decode(HealthReport.self, from: Data(response.body.readableBytesView))
                let demo = try #require(report.models?.first { $0.name == "Demo" })
                #expect(demo.state == "READY" && demo.instances.first?.pid == pid)
            }
            try await client.execute(uri: "/v2/repository/index", method: .get, headers: headers) { response in
                let entries = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]])
                #expect(entries.contains { $0["name"] as? String == "Demo" && $0["state"] as? String == "READY" })
            }
        }
    }

    @Test("/health lists the models the routes serve, with their workers")
    func healthUsesTheRoutesHandle() async throws {
        try await withHarness(models: ["PETR"]) { harness in
            let pid = try #require(await harness.workerPID("PETR"))
            try await harness.test(live: false) { client in
                try await client.execute(uri: "/health", method: .get, headers: harness.auth) { response in
                    let report = try JSONDecoder().decode(HealthReport.self, from: Data(response.body.readableBytesView))
                    let petr = try #require(report.models?.first { $0.name == "PETR" }, "\(report.models ?? [])")
                    #expect(petr.state == "READY" && petr.instances.first?.pid == pid)
                }
            }
        }
    }
}
