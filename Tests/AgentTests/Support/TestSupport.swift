import Foundation
import Logging
import Synchronization
import Testing

@testable import Agent

/// Shared pieces for tests that run real processes.
enum TestSupport {
    /// One supervisor for the whole test process; it waits only for the children it started,
    /// so it never steals exits from other code in the test runner.
    static let supervisor: Supervisor = {
        let supervisor = Supervisor(reaping: .registeredOnly, logger: Logger(label: "test-supervisor"))
        supervisor.start()
        return supervisor
    }()

    /// The repository root, from this file's location.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built podagent binary (PODAGENT_BIN overrides).
    static var podagentBinary: String {
        if let path = ProcessInfo.processInfo.environment["PODAGENT_BIN"] { return path }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("podagent").path
        if FileManager.default.isExecutableFile(atPath: runner) { return runner }
        return repoRoot.appendingPathComponent(".build/debug/podagent").path
    }

    /// A fresh temporary directory.
    static func temporaryDirectory(_ name: String = "test") throws -> String {
        let path = NSTemporaryDirectory() + "podagent-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes an executable script.
    static func writeScript(_ path: String, _ body: String) throws {
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// The Python model workers are started with. Tests run as root, so the engine starts workers as
    /// an unprivileged user (`nobody` by default): the interpreter must be one that user can run, the
    /// system's, not a root-only one (a pyenv under /root) found first on PATH.
    static let workerPython = "/usr/bin/python3"

    /// A temporary directory the workers' user (not root) may write to, as a real model's output or scratch folder would be.
    static func workerWritableDirectory(_ name: String = "worker") throws -> String {
        let path = try temporaryDirectory(name)
        chmod(path, 0o1777)
        return path
    }

    /// The environment of this process plus `extra`, minus any PODAGENT_* the developer may have set,
    /// with the workers' Python (``workerPython``) for the podagent processes tests start.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PODAGENT_") }
        environment["PODAGENT_INFERENCE_PYTHON"] = workerPython
        environment.merge(extra) { $1 }
        return environment
    }
}

/// A podagent binary running as a child of the test, on an ephemeral port.
final class AgentProcess: Sendable {
    let child: Child
    let port: Int
    let output: LineLog

    /// Starts `podagent run` and waits for its "listening" line.
    /// - Parameters:
    ///   - stderrFile: send podagent's stderr to this file instead of the test's pipe (through /bin/sh).
    ///   - wrapper: a command podagent runs under (`prlimit --nofile=...`).
    ///   - command: how the agent is started: `run`, or its alias `serve`.
    static func start(
        arguments: [String] = [], environment: [String: String] = [:], stateDir: String? = nil, stderrFile: String? = nil,
        wrapper: [String] = [], command: String = "run"
    ) async throws -> AgentProcess {
        let state = try stateDir ?? TestSupport.temporaryDirectory("state")
        var argv = wrapper + [TestSupport.podagentBinary, command, "--http-host", "127.0.0.1", "--http-port", "0", "--state-dir", state] + arguments
        if let stderrFile { argv = ["/bin/sh", "-c", "exec \"$0\" \"$@\" 2>>'\(stderrFile)'"] + argv }
        let spec = ProcessSpec(
            executable: argv[0], arguments: Array(argv.dropFirst()),
            // sshd has suites of its own; here it would compete for port 22.
            environment: TestSupport.environment(["PODAGENT_SSH": "off"].merging(environment) { $1 }))
        let child = try TestSupport.supervisor.spawn(spec)
        let lines = LineLog()
        let portStream = AsyncStream<Int?>.makeStream()
        if let stderr = child.stderr {
            PipeReader.forEachLine(stderr) { line in lines.append(line) }
        }
        if let stdout = child.stdout {
            PipeReader.forEachLine(stdout, line: { line in
                lines.append(line)
                if let range = line.range(of: "listening on http://"), let port = Int(line[range.upperBound...].split(separator: ":").last ?? "") {
                    portStream.continuation.yield(port)
                }
            }, done: { portStream.continuation.yield(nil) })
        }
        let port = await withTaskGroup(of: Int?.self) { group in
            group.addTask {
                for await port in portStream.stream { return port }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            portStream.continuation.finish()
            return first
        }
        guard let port else {
            child.signalGroup(SIGKILL)
            throw AgentError(.unavailable, "podagent did not start: \(lines.text)")
        }
        return AgentProcess(child: child, port: port, output: lines)
    }

    private init(child: Child, port: Int, output: LineLog) {
        self.child = child
        self.port = port
        self.output = output
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Sends `signal` and waits for the exit, killing the group after `deadline`.
    func stop(_ signal: Int32 = SIGTERM, deadline: Duration = .seconds(20)) async -> Agent.ExitStatus {
        child.signal(signal)
        return await child.terminate(grace: deadline)
    }

    var log: String { output.text }
}

/// Lines a child printed, collected from its reader threads.
final class LineLog: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

extension AgentProcess {
    /// A real `podagent run` serving the Demo model from the repository's plugins (data root
    /// `directory`), once `/v2/health/ready` says it is ready.
    static func startDemo(token: String, directory: String, environment: [String: String] = [:]) async throws -> AgentProcess {
        let agent = try await start(environment: [
            "PODAGENT_MODELS": "Demo", "PODAGENT_TOKEN": token, "PODAGENT_DATA_ROOTS": directory,
            "PODAGENT_PLUGINS_DIR": TestSupport.repoRoot.appendingPathComponent("Plugins").path,
        ].merging(environment) { $1 })
        var ready = 0
        for _ in 0..<300 where ready != 200 {
            ready = (try? await httpGet(agent.baseURL + "/v2/health/ready").status) ?? 0
            if ready != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ready == 200, "\(agent.log)")
        return agent
    }
}
