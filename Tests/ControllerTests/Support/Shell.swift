import Foundation
import Synchronization

/// Runs real programs from tests.
enum Shell {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `arguments[0]` (a path, or a name looked up on PATH) and waits, killing it after `timeout`.
    ///
    /// posix_spawn + waitpid rather than Foundation.Process: Process reaps through Dispatch, and
    /// tests that block cooperative threads on the shared fixture can starve Dispatch's pool.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil,
                    timeout: Double = 60) throws -> Result {
        let dir = NSTemporaryDirectory() + "podctl-shell-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inputPath = "\(dir)/in"
        try (input ?? "").write(toFile: inputPath, atomically: true, encoding: .utf8)
        let pid = try spawn(arguments, environment: environment, stdin: inputPath, stdout: "\(dir)/out", stderr: "\(dir)/err")
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

    /// Starts a child with its streams on files; the caller waits for it (or `Children` kills it at exit).
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
        return pid
    }

    /// A loopback port nothing listens on right now (bound to 0, then released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True once something accepts TCP connections on 127.0.0.1:`port`.
    static func waitForPort(_ port: Int, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if rc == 0 { return true }
            usleep(20_000)
        }
        return false
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "podctl-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Every child process a test starts, so the process can kill what is left when it exits.
enum Children {
    static let pids = Mutex<[Int32]>([])

    static func track(_ pid: Int32) {
        pids.withLock { $0.append(pid) }
        registerAtExit
    }

    static func untrack(_ pid: Int32) { pids.withLock { $0.removeAll { $0 == pid } } }

    static let registerAtExit: Void = {
        atexit {
            for pid in Children.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }()
}

