import Foundation
import Hummingbird
import Logging
import Testing

@testable import Agent

@Suite("podagent run and health, as processes and as a live server")
struct AgentProcessTests {
    @Test func servesOnAnEphemeralPortAndExitsZeroOnSIGTERM() async throws {
        let agent = try await AgentProcess.start()
        let live = try await httpGet(agent.baseURL + "/v2/health/live")
        #expect(live.status == 200)
        #expect(String(decoding: live.body, as: UTF8.self) == #"{"live":true}"#)
        let ready = try await httpGet(agent.baseURL + "/v2/health/ready")
        #expect(ready.status == 200)
        #expect(await agent.stop(SIGTERM) == .exited(0))
        #expect(agent.log.contains("shutting down"))
    }

    @Test func sigintStopsItToo() async throws {
        let agent = try await AgentProcess.start()
        #expect(await agent.stop(SIGINT) == .exited(0))
    }

    @Test func healthCommandExitCodes() async throws {
        let agent = try await AgentProcess.start()
        let runner = CommandRunner(supervisor: TestSupport.supervisor)
        func health(_ arguments: [String]) async throws -> CommandRunner.Output {
            try await runner.run(
                ProcessSpec(executable: TestSupport.podagentBinary, arguments: ["health"] + arguments, environment: TestSupport.environment()),
                timeout: .seconds(30))
        }
        let report = try await health(["--url", agent.baseURL])
        #expect(report.status == .exited(0))
        #expect(report.stdout.contains("ready"))
        let json = try await health(["--url", agent.baseURL, "--json"])
        #expect(json.status == .exited(0))
        let decoded = try JSONDecoder().decode(HealthReport.self, from: Data(json.stdout.utf8))
        #expect(decoded.ready)
        #expect(try await health(["--url", agent.baseURL, "--live"]).status == .exited(0))
        #expect(try await health(["--url", agent.baseURL, "--ready"]).status == .exited(0))
        let port = agent.port
        #expect(await agent.stop() == .exited(0))
        let down = try await health(["--url", "http://127.0.0.1:\(port)", "--live", "--timeout", "2"])
        #expect(down.status == .exited(1))
        #expect(down.stdout.contains("unhealthy"))
        let bad = try await health(["--live", "--ready"])
        #expect(bad.status != .exited(0))
    }

    @Test func gracefulShutdownFinishesTheRequestInFlight() async throws {
        var config = AgentConfig()
        config.http.host = "127.0.0.1"
        config.http.port = 0
        config.shutdownTimeout = 20
        let agent = PodAgent(
            config: config, stateDir: try TestSupport.temporaryDirectory("drain"), logger: Logger(label: "drain"),
            supervisor: TestSupport.supervisor, gpuProbe: FakeGPUProbe(report: .unavailable("no GPU in this test (fake probe)")))
        let router = agent.buildRouter()
        let entered = AsyncStream<Void>.makeStream()
        router.get("/slow") { _, _ -> String in
            entered.continuation.yield()
            try await Task.sleep(for: .seconds(1))
            return "finished"
        }
        let runtime = AgentRuntime(agent: agent)
        let listening = AsyncStream<Int>.makeStream()
        let server = Task { try await runtime.run(router: router) { port in listening.continuation.yield(port) } }
        var ports = listening.stream.makeAsyncIterator()
        let port = try #require(await ports.next())
        async let slow = httpGet("http://127.0.0.1:\(port)/slow")
        var signals = entered.stream.makeAsyncIterator()
        _ = await signals.next()
        runtime.shutdown()
        let response = try await slow
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "finished")
        try await server.value
        // Stopped accepting: a new connection is refused now.
        await #expect(throws: AgentError.self) { try await httpGet("http://127.0.0.1:\(port)/v2/health/live", timeout: .seconds(2)) }
    }
}
