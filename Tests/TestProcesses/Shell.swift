import Foundation
import Synchronization

/// Real child processes for the test suites that drive programs from outside: podctl, podagent, sshd, ssh.
///
/// posix_spawn + waitpid rather than Foundation.Process: Process reaps through Dispatch, and tests that
/// block cooperative threads on shared fixtures can starve Dispatch's pool.
public enum Shell {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The package's executable `name` (podagent, podctl) next to the test runner, else in .build/debug.
    public static func binary(_ name: String) -> String {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: runner) { return runner }
        return repoRoot.appendingPathComponent(".build/debug/\(name)").path
    }

    /// The test's environment without the PODAGENT_* / PODCTL_* settings and the ssh-agent a developer
    /// may have, plus `extra`.
    public static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("PODAGENT_") && !$0.key.hasPrefix("PODCTL_") && $0.key != "SSH_AUTH_SOCK"
        }
        environment.merge(extra) { $1 }
        return environment
    }

    public static func temporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "podctl-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `arguments[0]` (a path, or a name looked up on PATH) to completion, stdin from `input`,
    /// killing it after `timeout` seconds.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil, input: String = "",
                           timeout: Double = 120) throws -> Result {
        let dir = try temporaryDirectory("run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try input.write(toFile: "\(dir)/in", atomically: true, encoding: .utf8)
        let pid = try spawn(arguments, environment: environment, stdin: "\(dir)/in", stdout: "\(dir)/out", stderr: "\(dir)/err")
        defer { Children.untrack(pid) }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { break }
            if rc < 0 && errno != EINTR { throw FixtureError("waitpid failed for \(arguments[0])") }
            if Date() > deadline { kill(pid, SIGKILL) }
            usleep(5_000)
        }
        let exited = (status & 0x7f) == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
                      stdout: (try? String(contentsOfFile: "\(dir)/out", encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: "\(dir)/err", encoding: .utf8)) ?? "")
    }

    /// Starts a child with its streams on files and tracks it, so it is killed if the test process exits
    /// first; the caller waits for it (or `stop`s it).
    public static func spawn(_ arguments: [String], environment: [String: String]? = nil, stdin: String = "/dev/null",
                             stdout: String = "/dev/null", stderr: String = "/dev/null") throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0)=\($1)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // The test runner's threads block some signals; a child must not inherit that mask,
        // or SIGTERM from the test never reaches it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = arguments[0].hasPrefix("/")
            ? posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
            : posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        if rc != 0 { throw FixtureError("cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        Children.track(pid)
        return pid
    }

    /// SIGTERM, then SIGKILL after 5 s; reaps the child and stops tracking it.
    public static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<200 {
            if waitpid(pid, &status, WNOHANG) == pid { Children.untrack(pid); return }
            usleep(25_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        Children.untrack(pid)
    }

    /// Waits until `file` holds a line containing `marker` (true), or the child `pid` has exited (false, without
    /// reaping it), or `timeout` seconds passed (false).
    public static func waitForLine(from pid: pid_t, in file: String, containing marker: String, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), text.contains(marker) { return true }
            // "Z" (or no entry) once it exited: /proc tells without reaping, so `stop` still works as usual.
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] != "Z" else { return false }
            usleep(20_000)
        }
        return false
    }

    /// Waits until `file` holds a line containing `marker`; returns that line.
    public static func waitForLine(in file: String, containing marker: String, timeout: Double = 60) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) {
                return String(line)
            }
            usleep(50_000)
        }
        return nil
    }
}

/// Every child process a test starts, so the process can kill what is left when it exits.
public enum Children {
    static let pids = Mutex<[Int32]>([])

    public static func track(_ pid: Int32) {
        pids.withLock { $0.append(pid) }
        registerAtExit
    }

    public static func untrack(_ pid: Int32) { pids.withLock { $0.removeAll { $0 == pid } } }

    static let registerAtExit: Void = {
        atexit {
            for pid in Children.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }()
}

/// A fixture that could not be set up, or a child process that misbehaved.
public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
