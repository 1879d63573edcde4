import Controller
import Foundation
import Synchronization
import TestProcesses

/// Real OpenSSH servers on loopback ports, one per pod, each with its own host key and a shared
/// client key in authorized_keys (password logins off). Started once and shared by all suites.
///
/// Each session gets `POD_NAME`, `HOME=<dir>` (so root's own ~/.bashrc cannot change PATH or print noise),
/// and a `PATH` that starts with `<dir>/bin`, so a test can drop a
/// script there (a stand-in for podagent) and make pods behave differently by name.
final class SSHDFleet: Sendable {
    static let shared: SSHDFleet = {
        do {
            return try SSHDFleet(count: 16)
        } catch {
            fatalError("could not start the sshd fleet: \(error)")
        }
    }()

    let dir: String
    let clientKey: String
    /// Also authorized: an ECDSA and an RSA identity, and a key that only the auth tests' ssh-agent holds.
    let ecdsaKey: String
    let rsaKey: String
    let agentOnlyKey: String
    /// known_hosts with every pod's real key.
    let knownHosts: String
    let pods: [Pod]
    let hostKeyLines: [String]
    /// Each pod's listening sshd (replaced by `restartListener`).
    private let listeners: Mutex<[pid_t]>
    var processes: [pid_t] { listeners.withLock { $0 } }

    var binDir: String { "\(dir)/bin" }
    /// The last pod's sshd logs at DEBUG1 (it shows the keepalives it receives) into this file.
    var debugPod: Pod { pods[pods.count - 1] }
    var debugLog: String { "\(dir)/\(debugPod.name).log" }

    init(count: Int) throws {
        guard getuid() == 0 else { throw FixtureError("sshd tests need root (sshd must switch users)") }
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        dir = try Shell.temporaryDirectory("fleet")
        try FileManager.default.createDirectory(atPath: "\(dir)/bin", withIntermediateDirectories: true)
        clientKey = "\(dir)/client_ed25519"
        ecdsaKey = "\(dir)/client_ecdsa"
        rsaKey = "\(dir)/client_rsa"
        agentOnlyKey = "\(dir)/agent_ed25519"
        try Self.keygen(clientKey)
        try Self.keygen(ecdsaKey, type: "ecdsa")
        try Self.keygen(rsaKey, type: "rsa")
        try Self.keygen(agentOnlyKey)
        let authorized = try [clientKey, ecdsaKey, rsaKey, agentOnlyKey]
            .map { try String(contentsOfFile: $0 + ".pub", encoding: .utf8) }.joined()
        try authorized.write(toFile: "\(dir)/authorized_keys", atomically: true, encoding: .utf8)
        var pods: [Pod] = []
        var lines: [String] = []
        var processes: [pid_t] = []
        for index in 1...count {
            let name = String(format: "pod%02d", index)
            let hostKey = "\(dir)/\(name)_host_ed25519"
            try Self.keygen(hostKey)
            // A port picked free can be taken by another process before sshd binds it (other suites and
            // machines' tests allocate ports at the same time): then sshd exits, and another port is tried.
            var port = 0
            var pid: pid_t = 0
            for attempt in 1...5 {
                port = Shell.freePort()
                let config = """
                    Port \(port)
                    ListenAddress 127.0.0.1
                    HostKey \(hostKey)
                    PidFile \(dir)/\(name).pid
                    AuthorizedKeysFile \(dir)/authorized_keys
                    PasswordAuthentication no
                    KbdInteractiveAuthentication no
                    PubkeyAuthentication yes
                    PermitRootLogin prohibit-password
                    StrictModes no
                    UsePAM no
                    AllowTcpForwarding yes
                    MaxStartups 200:30:400
                    Subsystem sftp internal-sftp
                    SetEnv HOME=\(dir) POD_NAME=\(name) PATH=\(dir)/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                    LogLevel \(index == count ? "DEBUG1" : "INFO")
                    """
                try config.write(toFile: "\(dir)/\(name).conf", atomically: true, encoding: .utf8)
                pid = try Self.startSSHD(dir: dir, name: name, debug: index == count)
                if Shell.waitForLine(from: pid, in: "\(dir)/\(name).log", containing: "Server listening on 127.0.0.1 port \(port).") { break }
                Shell.stop(pid)
                if attempt == 5 { throw FixtureError("sshd for \(name) did not listen on \(port): see \(dir)/\(name).log") }
            }
            processes.append(pid)
            let publicKey = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            lines.append("[127.0.0.1]:\(port) \(publicKey)")
            pods.append(Pod(name: name, host: "127.0.0.1", port: port, user: "root", identity: clientKey, labels: index % 2 == 0 ? ["even"] : ["odd"]))
        }
        knownHosts = "\(dir)/known_hosts"
        try (lines.joined(separator: "\n") + "\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        self.pods = pods
        self.hostKeyLines = lines
        self.listeners = Mutex(processes)
    }

    private static func startSSHD(dir: String, name: String, debug: Bool) throws -> pid_t {
        // -E, not -e, for the DEBUG1 pod: with -e a session's own debug lines would reach the client's stderr.
        let logging = debug ? ["-E", "\(dir)/\(name).log"] : ["-e"]
        return try Shell.spawn(["/usr/sbin/sshd", "-D"] + logging + ["-f", "\(dir)/\(name).conf"], stderr: "\(dir)/\(name).log")
    }

    func log(_ pod: Pod) -> String { "\(dir)/\(pod.name).log" }

    /// Successful logins sshd logged for `pod` so far.
    func logins(_ pod: Pod) -> [String] {
        let text = (try? String(contentsOfFile: log(pod), encoding: .utf8)) ?? ""
        // sshd -e ends its lines with \r\n, one Character in Swift: split on any newline.
        return text.split(whereSeparator: \.isNewline).filter { $0.contains("Accepted publickey") }.map(String.init)
    }

    /// The processes serving pod `index`'s open connections: every descendant of its listening sshd.
    func connectionProcesses(_ index: Int) -> [pid_t] {
        let listener = listeners.withLock { $0[index] }
        var parents: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, let parent = pid_t(fields[1]) { parents[pid] = parent }
        }
        var found: [pid_t] = []
        var frontier: Set<pid_t> = [listener]
        while !frontier.isEmpty {
            let children = parents.filter { frontier.contains($0.value) }.map(\.key)
            found += children
            frontier = Set(children)
        }
        return found
    }

    /// Stops pod `index`'s listening sshd (its open connections stay, as with sshd's own restart).
    func stopListener(_ index: Int) {
        Shell.stop(listeners.withLock { $0[index] })
    }

    /// Starts pod `index`'s sshd again on the same port, host key and config.
    func startListener(_ index: Int) throws {
        let pid = try Self.startSSHD(dir: dir, name: pods[index].name, debug: index == pods.count - 1)
        listeners.withLock { $0[index] = pid }
        guard Shell.waitForPort(pods[index].port) else { throw FixtureError("sshd for \(pods[index].name) did not come back") }
    }

    static func keygen(_ path: String, type: String = "ed25519") throws {
        let size = type == "rsa" ? ["-b", "3072"] : []
        let result = try Shell.run(["/usr/bin/ssh-keygen", "-q", "-t", type] + size + ["-N", "", "-C", "podctl-test", "-f", path])
        if result.status != 0 { throw FixtureError("ssh-keygen failed: \(result.stderr)") }
    }

    /// Strict host-key settings against the fleet's known_hosts.
    func settings(policy: HostKeyPolicyChoice = .strict, knownHosts: String? = nil, agentSocket: String? = nil) -> ConnectionSettings {
        ConnectionSettings(ssh: SSHConnectOptions(knownHostsFile: knownHosts ?? self.knownHosts, hostKeyPolicy: policy.value, connectTimeout: 10,
                                                  useAgent: agentSocket != nil, agentSocket: agentSocket))
    }

    /// Writes an executable script into the sessions' PATH.
    func installScript(_ name: String, _ body: String) throws {
        let path = "\(binDir)/\(name)"
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }
}

import SSHClient

enum HostKeyPolicyChoice {
    case strict, acceptNew, off
    var value: HostKeyPolicy {
        switch self {
        case .strict: return .strict
        case .acceptNew: return .acceptNew
        case .off: return .off
        }
    }
}
