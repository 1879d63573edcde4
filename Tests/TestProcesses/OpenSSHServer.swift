import Foundation
import Synchronization

/// One real OpenSSH sshd on a loopback port with its own ed25519 host key; public-key logins only,
/// password logins off. Needs root (sshd switches users). What the SSH suites connect to.
public final class OpenSSHServer: Sendable {
    public let dir: String
    public let name: String
    public let port: Int
    /// The host key's private file (`.pub` beside it).
    public let hostKey: String
    /// The known_hosts line for it: `[127.0.0.1]:PORT TYPE BASE64`.
    public let knownHostsLine: String
    /// sshd's log (DEBUG1 when started with `debug`).
    public var log: String { "\(dir)/\(name).log" }
    private let debug: Bool
    private let listener: Mutex<pid_t>

    /// The listening sshd's pid (its sessions are its descendants).
    public var pid: pid_t { listener.withLock { $0 } }

    /// - Parameters:
    ///   - authorizedKeys: the file of public keys sshd accepts for every user.
    ///   - extraConfig: more sshd_config lines (SetEnv, limits).
    ///   - debug: log at DEBUG1 into ``log`` (with `-E`, so no debug line reaches a session's stderr).
    public init(dir: String, name: String, authorizedKeys: String, extraConfig: [String] = [], debug: Bool = false) throws {
        guard getuid() == 0 else { throw FixtureError("sshd tests need root (sshd must switch users)") }
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        self.dir = dir
        self.name = name
        self.debug = debug
        hostKey = "\(dir)/\(name)_host_ed25519"
        try Self.keygen(hostKey)
        // A port picked free can be taken by another process before sshd binds it (other suites and
        // machines' tests allocate ports at the same time): then sshd exits, and another port is tried.
        var port = 0
        var pid: pid_t = 0
        for attempt in 1...5 {
            port = Shell.freePort()
            let config = [
                "Port \(port)", "ListenAddress 127.0.0.1", "HostKey \(hostKey)", "PidFile \(dir)/\(name).pid",
                "AuthorizedKeysFile \(authorizedKeys)", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes", "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no",
                "AllowTcpForwarding yes", "Subsystem sftp internal-sftp", "LogLevel \(debug ? "DEBUG1" : "INFO")",
            ] + extraConfig
            try (config.joined(separator: "\n") + "\n").write(toFile: "\(dir)/\(name).conf", atomically: true, encoding: .utf8)
            pid = try Self.spawn(dir: dir, name: name, debug: debug)
            if Shell.waitForLine(from: pid, in: "\(dir)/\(name).log", containing: "Server listening on 127.0.0.1 port \(port).") { break }
            Shell.stop(pid)
            if attempt == 5 { throw FixtureError("sshd \(name) did not listen on \(port): see \(dir)/\(name).log") }
        }
        self.port = port
        listener = Mutex(pid)
        let publicKey = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        knownHostsLine = "[127.0.0.1]:\(port) \(publicKey)"
    }

    /// Stops the listening sshd; open sessions stay, as with sshd's own restart.
    public func stop() { Shell.stop(pid) }

    /// Starts sshd again on the same port, host key and config.
    public func start() throws {
        let pid = try Self.spawn(dir: dir, name: name, debug: debug)
        listener.withLock { $0 = pid }
        guard Shell.waitForPort(port) else { throw FixtureError("sshd \(name) did not come back on \(port)") }
    }

    /// Successful logins sshd logged so far.
    public var logins: [String] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // sshd -e ends its lines with \r\n, one Character in Swift: split on any newline.
        return text.split(whereSeparator: \.isNewline).filter { $0.contains("Accepted publickey") }.map(String.init)
    }

    private static func spawn(dir: String, name: String, debug: Bool) throws -> pid_t {
        let logging = debug ? ["-E", "\(dir)/\(name).log"] : ["-e"]
        return try Shell.spawn(["/usr/sbin/sshd", "-D"] + logging + ["-f", "\(dir)/\(name).conf"], stderr: "\(dir)/\(name).log")
    }

    /// A new key pair at `path` (`.pub` beside it), no passphrase.
    public static func keygen(_ path: String, type: String = "ed25519") throws {
        let size = type == "rsa" ? ["-b", "3072"] : []
        let result = try Shell.run(["/usr/bin/ssh-keygen", "-q", "-t", type] + size + ["-N", "", "-C", "podagent-test", "-f", path])
        if result.status != 0 { throw FixtureError("ssh-keygen failed: \(result.stderr)") }
    }
}
