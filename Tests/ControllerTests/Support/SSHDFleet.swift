import Controller
import Foundation
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
    /// Each pod's sshd.
    private let servers: [OpenSSHServer]
    var processes: [pid_t] { servers.map(\.pid) }

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
        var servers: [OpenSSHServer] = []
        for index in 1...count {
            let name = String(format: "pod%02d", index)
            let environment = "SetEnv HOME=\(dir) POD_NAME=\(name) PATH=\(dir)/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            let server = try OpenSSHServer(dir: dir, name: name, authorizedKeys: "\(dir)/authorized_keys",
                                           extraConfig: ["MaxStartups 200:30:400", environment], debug: index == count)
            servers.append(server)
            pods.append(Pod(name: name, host: "127.0.0.1", port: server.port, user: "root", identity: clientKey, labels: index % 2 == 0 ? ["even"] : ["odd"]))
        }
        let lines = servers.map(\.knownHostsLine)
        knownHosts = "\(dir)/known_hosts"
        try (lines.joined(separator: "\n") + "\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        self.pods = pods
        self.hostKeyLines = lines
        self.servers = servers
    }

    func log(_ pod: Pod) -> String { "\(dir)/\(pod.name).log" }

    /// Successful logins sshd logged for `pod` so far.
    func logins(_ pod: Pod) -> [String] {
        servers.first { $0.name == pod.name }?.logins ?? []
    }

    /// The processes serving pod `index`'s open connections: every descendant of its listening sshd.
    func connectionProcesses(_ index: Int) -> [pid_t] { Self.descendants(of: servers[index].pid) }

    /// Every descendant of `listener` (a listening sshd's: the processes serving its connections).
    static func descendants(of listener: pid_t) -> [pid_t] {
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
    func stopListener(_ index: Int) { servers[index].stop() }

    /// Starts pod `index`'s sshd again on the same port, host key and config.
    func startListener(_ index: Int) throws { try servers[index].start() }

    static func keygen(_ path: String, type: String = "ed25519") throws { try OpenSSHServer.keygen(path, type: type) }

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
