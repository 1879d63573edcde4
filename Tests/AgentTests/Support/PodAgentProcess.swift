import Foundation
import Logging
import Synchronization
import Testing

@testable import Agent

/// One test's private directories and SSH key pair, under a root-owned 0755 base (sshd's StrictModes
/// refuses authorized keys below a world-writable /tmp). Removed by ``remove()``.
final class TestWorkspace: Sendable {
    let path: String
    let key: String

    static let base = "/var/lib/podagent-tests"

    init() async throws {
        path = "\(Self.base)/\(UUID().uuidString.prefix(8).lowercased())"
        key = path + "/id_ed25519"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(Self.base, 0o755)
        chmod(path, 0o755)
        let output = try await Tools.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key])
        try #require(output.status.succeeded, "ssh-keygen: \(output.stderr)")
    }

    var publicKey: String {
        get throws { try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The YAML config a test agent reads: its own ports, state and system paths.
    func config(sshPort: Int, extra: String = "", bashrc: String? = nil, user: String? = nil, options: [String] = []) -> String {
        var text = """
            state_dir: \(path)/state
            http:
              host: 127.0.0.1
              port: 0
            shutdown_timeout: 3
            log:
              format: json
            ssh:
              enabled: "on"
              port: \(sshPort)
              authorized_keys_dir: \(path)/keys
              env_file: \(path)/env/podagent-env.sh
              bashrc_files: ["\(bashrc ?? path + "/bash.bashrc")"]
              sudoers_dir: \(path)/sudoers

            """
        if let user { text += "  user: \(user)\n  user_uid: 1000\n" }
        if !options.isEmpty {
            text += "  options:\n" + options.map { "    - \"\($0)\"\n" }.joined()
        }
        return text + extra
    }

    func write(_ text: String, to name: String) throws -> String {
        let file = "\(path)/\(name)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Child processes for tests, through the test process's one supervisor (it reaps only what it started).
enum Tools {
    static var supervisor: Supervisor { TestSupport.supervisor }

    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(30), environment: [String: String]? = nil) async throws -> CommandRunner.Output {
        try await CommandRunner(supervisor: supervisor).run(
            ProcessSpec(executable: executable, arguments: arguments, environment: environment), timeout: timeout)
    }

    /// A TCP port nothing listens on right now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                _ = bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A unique login name for a test user.
    static func userName() -> String {
        "pt" + String(UUID().uuidString.lowercased().filter { $0.isLetter }.prefix(8))
    }

    static func deleteUser(_ name: String) async {
        _ = try? await run("/usr/sbin/userdel", ["-r", name])
        _ = try? await run("/usr/sbin/groupdel", [name])
    }
}

/// podagent's built binary running as a child, with its log captured.
final class PodAgentProcess: Sendable {
    let child: Child
    let sshPort: Int
    let workspace: TestWorkspace
    private let lines = Mutex<[String]>([])
    private let port = Mutex<Int?>(nil)

    static var binary: String {
        get throws {
            let path = TestSupport.podagentBinary
            try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing: run swift build first")
            return path
        }
    }

    private init(child: Child, sshPort: Int, workspace: TestWorkspace) {
        self.child = child
        self.sshPort = sshPort
        self.workspace = workspace
    }

    /// The HTTP port podagent announced.
    var httpPort: Int { port.withLock { $0 } ?? 0 }

    /// Starts `podagent run --config <file> [arguments]` and waits for its HTTP port.
    /// - Parameter wrapper: a command to run podagent under (unshare), before its path.
    static func start(
        _ workspace: TestWorkspace, config: String, sshPort: Int, environment: [String: String] = [:],
        arguments: [String] = [], wrapper: [String] = [], waitForHTTP: Bool = true
    ) async throws -> PodAgentProcess {
        let configFile = try workspace.write(config, to: "podagent-\(UUID().uuidString.prefix(6)).yaml")
        var env = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"]
        env.merge(environment) { $1 }
        // A test that rewrites its config file passes its own --config.
        let configArguments = arguments.contains("--config") ? [] : ["--config", configFile]
        let argv = wrapper + [try binary, "run"] + configArguments + arguments
        let child = try Tools.supervisor.spawn(ProcessSpec(
            executable: argv[0], arguments: Array(argv.dropFirst()), environment: env, stdin: .null, stdout: .pipe, stderr: .pipe))
        let agent = PodAgentProcess(child: child, sshPort: sshPort, workspace: workspace)
        if let stdout = child.stdout {
            PipeReader.forEachLine(stdout) { line in
                if line.hasPrefix("podagent listening on"), let port = Int(line.split(separator: ":").last ?? "") {
                    agent.port.withLock { $0 = port }
                }
                agent.lines.withLock { $0.append(line) }
            }
        }
        if let stderr = child.stderr {
            PipeReader.forEachLine(stderr) { line in agent.lines.withLock { $0.append(line) } }
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while waitForHTTP, agent.httpPort == 0 {
            if child.exitStatus != nil || ContinuousClock.now > deadline {
                Issue.record("podagent did not start (\(child.exitStatus.map { "\($0)" } ?? "timeout")): \(agent.log)")
                throw AgentError(.timeout, "podagent did not start")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return agent
    }

    /// podagent's log so far (stdout and stderr lines).
    var log: String { lines.withLock { $0.joined(separator: "\n") } }

    /// GETs a path of the agent's HTTP API.
    func get(_ path: String) throws -> (status: Int, body: String) {
        let response = try blockingGet("http://127.0.0.1:\(httpPort)\(path)", timeout: .seconds(5))
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    /// The sshd part of /health.
    func sshdStatus() throws -> PartStatus? {
        let body = try get("/health").body
        let report = try JSONDecoder().decode(HealthReport.self, from: Data(body.utf8))
        return report.parts["sshd"]
    }

    /// Waits until `condition` holds (checked every 20 ms) or fails the test after `timeout`.
    func wait(
        _ what: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
        until condition: () throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? condition()) == true { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what); podagent log:\n\(log)", sourceLocation: sourceLocation)
        throw AgentError(.timeout, "timed out waiting for \(what)")
    }

    /// Waits for sshd to accept connections and returns its status.
    @discardableResult
    func waitForSSHD() async throws -> PartStatus {
        try await wait("sshd to be running") { try sshdStatus()?.state == "running" }
        return try #require(try sshdStatus())
    }

    /// Runs `command` over SSH with the workspace's key.
    func ssh(_ command: String, user: String = "root", options: [String] = [], timeout: Duration = .seconds(20)) async throws -> CommandRunner.Output {
        try await Tools.run("/usr/bin/ssh", sshArguments(user: user, options: options) + ["\(user)@127.0.0.1", command], timeout: timeout)
    }

    func sshArguments(user: String = "root", options: [String] = []) -> [String] {
        [
            "-F", "/dev/null", "-i", workspace.key, "-p", String(sshPort), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
        ] + options
    }

    /// Waits for podagent to exit by itself; nil when it is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> Agent.ExitStatus? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = child.exitStatus { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return child.exitStatus
    }

    /// SIGTERM, then waits for the exit.
    @discardableResult
    func stop() async -> Agent.ExitStatus {
        child.signal(SIGTERM)
        return await child.terminate(grace: .seconds(15))
    }
}

/// Runs `body` with a fresh workspace, removed afterwards whatever happened.
func withWorkspace<T>(_ body: (TestWorkspace) async throws -> T) async throws -> T {
    let workspace = try await TestWorkspace()
    do {
        let result = try await body(workspace)
        workspace.remove()
        return result
    } catch {
        workspace.remove()
        throw error
    }
}

extension PodAgentProcess {
    /// Starts an agent, runs `body` with it, and stops it afterwards whatever happened.
    static func with<T>(
        _ workspace: TestWorkspace, config: String, sshPort: Int, environment: [String: String] = [:],
        arguments: [String] = [], _ body: (PodAgentProcess) async throws -> T
    ) async throws -> T {
        let agent = try await start(workspace, config: config, sshPort: sshPort, environment: environment, arguments: arguments)
        do {
            let result = try await body(agent)
            await agent.stop()
            return result
        } catch {
            await agent.stop()
            throw error
        }
    }
}

extension Tools {
    /// Runs `body`, then deletes the test user `name` (with its home) whatever happened.
    static func withUserDeleted<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await deleteUser(name)
            return result
        } catch {
            await deleteUser(name)
            throw error
        }
    }
}
