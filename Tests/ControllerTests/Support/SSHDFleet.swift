import Controller
import Foundation

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
    /// known_hosts with every pod's real key.
    let knownHosts: String
    let pods: [Pod]
    let hostKeyLines: [String]
    let processes: [pid_t]

    var binDir: String { "\(dir)/bin" }

    init(count: Int) throws {
        guard getuid() == 0 else { throw FixtureError("sshd tests need root (sshd must switch users)") }
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        dir = try Shell.temporaryDirectory("fleet")
        try FileManager.default.createDirectory(atPath: "\(dir)/bin", withIntermediateDirectories: true)
        clientKey = "\(dir)/client_ed25519"
        try Self.keygen(clientKey)
        try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: "\(dir)/authorized_keys")
        var pods: [Pod] = []
        var lines: [String] = []
        var processes: [pid_t] = []
        for index in 1...count {
            let name = String(format: "pod%02d", index)
            let hostKey = "\(dir)/\(name)_host_ed25519"
            try Self.keygen(hostKey)
            let port = Shell.freePort()
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
                """
            try config.write(toFile: "\(dir)/\(name).conf", atomically: true, encoding: .utf8)
            let pid = try Shell.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", "\(dir)/\(name).conf"],
                                      stderr: "\(dir)/\(name).log")
            Children.track(pid)
            processes.append(pid)
            let publicKey = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            lines.append("[127.0.0.1]:\(port) \(publicKey)")
            pods.append(Pod(name: name, host: "127.0.0.1", port: port, user: "root", identity: clientKey, labels: index % 2 == 0 ? ["even"] : ["odd"]))
        }
        for pod in pods where !Shell.waitForPort(pod.port) {
            throw FixtureError("sshd for \(pod.name) did not listen on \(pod.port): see \(dir)/\(pod.name).log")
        }
        knownHosts = "\(dir)/known_hosts"
        try (lines.joined(separator: "\n") + "\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        self.pods = pods
        self.hostKeyLines = lines
        self.processes = processes
    }

    static func keygen(_ path: String) throws {
        let result = try Shell.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "podctl-test", "-f", path])
        if result.status != 0 { throw FixtureError("ssh-keygen failed: \(result.stderr)") }
    }

    /// Strict host-key settings against the fleet's known_hosts.
    func settings(policy: HostKeyPolicyChoice = .strict, knownHosts: String? = nil) -> ConnectionSettings {
        ConnectionSettings(knownHostsFile: knownHosts ?? self.knownHosts, hostKeyPolicy: policy.value, connectTimeout: 10, useAgent: false)
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

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
