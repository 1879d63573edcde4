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

    /// The signals are blocked for the parsed command, not for argv's first word: through `serve`
    /// (run's alias) SIGTERM used to take its default action and kill podagent (exit by signal 15).
    @Test("podagent serve (run's alias): SIGTERM shuts it down cleanly, a supervised command's exit is still seen")
    func aliasBlocksTheSignalsToo() async throws {
        let agent = try await AgentProcess.start(arguments: ["--log-level", "debug"], command: "serve")
        #expect(try await httpGet(agent.baseURL + "/v2/health/live").status == 200)
        #expect(await agent.stop(SIGTERM) == .exited(0), "\(agent.log)")
        #expect(agent.log.contains("received signal \(SIGTERM): shutting down"), "\(agent.log)")
        #expect(agent.log.contains("podagent stopped"), "\(agent.log)")

        // SIGCHLD is taken too: the command's exit (reaped by the supervisor) becomes podagent's.
        let gate = try TestSupport.temporaryDirectory("serve-gate") + "/go"
        let child = try await AgentProcess.start(
            arguments: ["--", "/bin/sh", "-c", "while [ ! -e '\(gate)' ]; do sleep 0.1; done; exit 7"], command: "serve")
        FileManager.default.createFile(atPath: gate, contents: nil)
        let exited = await eventually(timeout: .seconds(60)) { child.child.exitStatus != nil }
        if !exited { _ = await child.stop(SIGKILL) }
        #expect(child.child.exitStatus == .exited(7), "\(child.log)")
        #expect(child.log.contains("podagent stops with its exit code 7"), "\(child.log)")
    }

    /// Blocking is refused where another thread already exists (it would keep SIGTERM's default
    /// action): here, in the test runner, which has many. Nothing is changed then.
    @Test func blockingTheSignalsRefusesWhenOtherThreadsExist() throws {
        #expect(SignalMask.threadCount() > 1)
        func blocked() -> [Int32] {
            var current = sigset_t()
            pthread_sigmask(SIG_BLOCK, nil, &current)
            return SignalMask.supervised.filter { sigismember(&current, $0) == 1 }
        }
        let before = blocked()
        let error = #expect(throws: AgentError.self) { try SignalMask.blockForSupervisor() }
        #expect(error?.message.contains("threads exist before the termination signals were blocked") == true)
        #expect(blocked() == before, "the thread's signal mask changed anyway")
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
        // Bad usage exits 2, as the one exit-status table says (swift-argument-parser's own 64 is not used).
        let bad = try await health(["--live", "--ready"])
        #expect(bad.status == .exited(2) && bad.stderr.contains("--live and --ready exclude each other"), "\(bad.stderr)")
    }

    /// The bug of issue 19: `podagent health` read only PODAGENT_TOKEN, so an agent whose token comes from a
    /// file (`api.token_file`, or `PODAGENT_TOKEN_FILE` as Kubernetes secrets give it) answered its own health
    /// check with 401 and every such pod showed unhealthy in `podctl health`.
    @Test func healthFindsTheTokenFileTheAgentReads() async throws {
        let dir = try TestSupport.temporaryDirectory("token-file")
        let tokenFile = dir + "/token"
        let token = "file-token-\(UUID().uuidString)"
        try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        chmod(tokenFile, 0o600)
        let configFile = dir + "/podagent.yaml"
        try "api:\n  token_file: \(tokenFile)\n".write(toFile: configFile, atomically: true, encoding: .utf8)
        let runner = CommandRunner(supervisor: TestSupport.supervisor)
        func health(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> CommandRunner.Output {
            try await runner.run(
                ProcessSpec(executable: TestSupport.podagentBinary, arguments: ["health"] + arguments, environment: TestSupport.environment(extra)),
                timeout: .seconds(30))
        }

        // The token from the YAML file's api.token_file: the agent and `podagent health --config` read the same file.
        let fromConfig = try await AgentProcess.start(arguments: ["--config", configFile])
        let withoutToken = try await health(["--url", fromConfig.baseURL])
        #expect(withoutToken.status == .exited(1) && withoutToken.stdout.contains("HTTP 401"), "the report route needs the token: \(withoutToken.stdout)")
        let viaConfig = try await health(["--url", fromConfig.baseURL, "--config", configFile])
        #expect(viaConfig.status == .exited(0), "\(viaConfig.stdout)\(viaConfig.stderr)")
        // The report's numbers (ports, bytes, times) may hold the digits 401: look for the refusal itself.
        #expect(viaConfig.stdout.contains("ready") && !viaConfig.stdout.contains("HTTP 401"), "\(viaConfig.stdout)")
        // PODAGENT_URL instead of --url, and the report as JSON (what podctl health reads).
        let json = try await health(["--config", configFile, "--json"], ["PODAGENT_URL": fromConfig.baseURL])
        #expect(json.status == .exited(0), "\(json.stdout)\(json.stderr)")
        #expect(try JSONDecoder().decode(HealthReport.self, from: Data(json.stdout.utf8)).ready)
        #expect(!(viaConfig.stdout + viaConfig.stderr + json.stderr).contains(token))
        #expect(await fromConfig.stop() == .exited(0))

        // The token from PODAGENT_TOKEN_FILE (a Kubernetes secret), for the agent and for the health check.
        let fromVariable = try await AgentProcess.start(environment: ["PODAGENT_TOKEN_FILE": tokenFile])
        let viaVariable = try await health(["--url", fromVariable.baseURL], ["PODAGENT_TOKEN_FILE": tokenFile])
        #expect(viaVariable.status == .exited(0), "\(viaVariable.stdout)\(viaVariable.stderr)")
        let viaFlag = try await health(["--url", fromVariable.baseURL, "--token-file", tokenFile])
        #expect(viaFlag.status == .exited(0), "\(viaFlag.stdout)\(viaFlag.stderr)")
        // The order: --token-file, then PODAGENT_TOKEN, then the file; a wrong variable is not rescued by the file.
        let wrongVariable = try await health(["--url", fromVariable.baseURL], ["PODAGENT_TOKEN_FILE": tokenFile, "PODAGENT_TOKEN": "wrong"])
        #expect(wrongVariable.status == .exited(1) && wrongVariable.stdout.contains("401"), "\(wrongVariable.stdout)")
        // A token file that cannot be read is a usage error naming it (exit 2), never a silent request without a token.
        let missing = try await health(["--url", fromVariable.baseURL, "--token-file", dir + "/missing"])
        #expect(missing.status == .exited(2) && missing.stderr.contains("podagent: error: --token-file \(dir)/missing: cannot be read"),
                "\(missing.stderr)")
        #expect(await fromVariable.stop() == .exited(0))
    }

    @Test func gracefulShutdownFinishesTheRequestInFlight() async throws {
        var config = AgentConfig()
        config.http.host = "127.0.0.1"
        config.http.port = 0
        config.shutdownTimeout = 20
        let agent = TestAgent(
            config: config, stateDir: try TestSupport.temporaryDirectory("drain"), logger: Logger(label: "drain"),
            gpuProbe: FakeGPUProbe(report: .unavailable("no GPU in this test (fake probe)")))
        let router = agent.buildRouter()
        let entered = AsyncStream<Void>.makeStream()
        router.get("/slow") { _, _ -> String in
            entered.continuation.yield()
            try await Task.sleep(for: .seconds(1))
            return "finished"
        }
        let listening = AsyncStream<Int>.makeStream()
        let application = AgentApplication(
            services: [], router: router, config: config, bindHost: "127.0.0.1", logger: agent.logger) { port in listening.continuation.yield(port) }
        let server = Task { try await application.run() }
        var ports = listening.stream.makeAsyncIterator()
        let port = try #require(await ports.next())
        async let slow = httpGet("http://127.0.0.1:\(port)/slow")
        var signals = entered.stream.makeAsyncIterator()
        _ = await signals.next()
        await application.triggerGracefulShutdown()
        let response = try await slow
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "finished")
        try await server.value
        // Stopped accepting: a new connection is refused now.
        await #expect(throws: AgentAPIError.self) { try await httpGet("http://127.0.0.1:\(port)/v2/health/live", timeout: .seconds(2)) }
    }
}
