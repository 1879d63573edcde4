import Foundation
import Synchronization

/// Real child processes for the compare tests (posix_spawn + waitpid; no Foundation.Process, whose
/// Dispatch-based reaping competes with other waiters in the test runner).
enum Proc {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built binary `name` (podagent, podctl) next to the test bundle, else in .build/debug.
    static func binary(_ name: String) -> String {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: runner) { return runner }
        return repoRoot.appendingPathComponent(".build/debug/\(name)").path
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "compare-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The test's environment minus PODAGENT_* / PODCTL_* a developer may have set, plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PODAGENT_") && !$0.key.hasPrefix("PODCTL_") }
        environment.merge(extra) { $1 }
        return environment
    }

    /// Runs to completion (killed after `timeout`), stdin from `input`.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String]? = nil, input: String = "", timeout: Double = 120) throws -> Result {
        let dir = try temporaryDirectory("run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try input.write(toFile: "\(dir)/in", atomically: true, encoding: .utf8)
        let pid = try spawn(arguments, environment: environment, stdin: "\(dir)/in", stdout: "\(dir)/out", stderr: "\(dir)/err")
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { break }
            if rc < 0 && errno != EINTR { throw TestFailure("waitpid failed for \(arguments[0])") }
            if Date() > deadline { kill(pid, SIGKILL) }
            usleep(5_000)
        }
        let exited = (status & 0x7f) == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
                      stdout: (try? String(contentsOfFile: "\(dir)/out", encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: "\(dir)/err", encoding: .utf8)) ?? "")
    }

    static func spawn(_ arguments: [String], environment: [String: String]? = nil, stdin: String = "/dev/null",
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
        // The runner's threads block some signals; children must not inherit that mask.
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
        if rc != 0 { throw TestFailure("cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        Children.track(pid)
        return pid
    }

    /// Waits until `file` holds a line containing `marker`; returns that line.
    static func waitForLine(in file: String, containing marker: String, timeout: Double = 60) -> String? {
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

    static func stop(_ pid: pid_t) {
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
}

/// Children still running when the test process exits are killed.
enum Children {
    static let pids = Mutex<[Int32]>([])
    static func track(_ pid: Int32) {
        pids.withLock { $0.append(pid) }
        registerAtExit
    }
    static func untrack(_ pid: Int32) { pids.withLock { $0.removeAll { $0 == pid } } }
    static let registerAtExit: Void = {
        atexit { for pid in Children.pids.withLock({ $0 }) { kill(pid, SIGKILL) } }
    }()
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
