import Foundation
import PodAgentExtras
import SSHClient

/// Writes `~/.ssh/podctl/config` and the one `Include` line at the top of `~/.ssh/config`, so plain
/// `ssh NAME` and VS Code Remote-SSH reach the pods with podctl's keys and known_hosts.
public struct SSHConfigWriter: Sendable {
    public var home: String

    public init(home: String) { self.home = home }

    public var sshDirectory: String { "\(home)/.ssh" }
    public var podctlConfig: String { "\(home)/.ssh/podctl/config" }
    public var userConfig: String { "\(home)/.ssh/config" }
    /// Absolute, because a relative Include is resolved against the real user's ~/.ssh.
    public var includeLine: String { "Include \(podctlConfig)" }

    /// A Host alias for a pod name (`ssh` patterns cannot contain spaces or wildcards).
    public static func alias(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "-" })
    }

    public func render(_ pods: [Pod], knownHostsFile: String, policy: HostKeyPolicy) -> String {
        let checking: String
        switch policy {
        case .strict: checking = "yes"
        case .acceptNew: checking = "accept-new"
        case .off: checking = "no"
        }
        var text = "# Written by `podctl ssh-config --write`; regenerated each time, edit the fleet file instead.\n"
        for pod in pods {
            text += "\nHost \(Self.alias(pod.name))\n"
            text += "  HostName \(pod.host)\n  Port \(pod.port)\n  User \(pod.user)\n"
            if let identity = pod.identity {
                text += "  IdentityFile \"\(identity)\"\n  IdentitiesOnly yes\n"
            }
            // The key is pinned under the pod's name (podctl trust, accept-new), so a new IP or port keeps it valid.
            if let alias = pod.hostKeyAlias { text += "  HostKeyAlias \(alias.lowercased())\n" }
            text += "  UserKnownHostsFile \"\(knownHostsFile)\"\n  StrictHostKeyChecking \(checking)\n"
        }
        return text
    }

    /// Writes both files under a lock; running it twice changes nothing the second time.
    /// Returns whether `~/.ssh/config` gained the Include line.
    @discardableResult
    public func write(_ pods: [Pod], knownHostsFile: String, policy: HostKeyPolicy) throws(ControllerError) -> Bool {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: "\(sshDirectory)/podctl", withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o700])
        } catch {
            throw ControllerError(.io, "cannot create \(sshDirectory)/podctl: \(error.localizedDescription)")
        }
        let lockPath = "\(sshDirectory)/podctl/.lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw ControllerError(.io, "cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw ControllerError(.io, "cannot lock \(lockPath)") }
        defer { flock(lock, LOCK_UN) }

        try ControllerError.writing(AtomicFile.write(render(pods, knownHostsFile: knownHostsFile, policy: policy), to: podctlConfig, mode: 0o600))
        let existing = fm.contents(atPath: userConfig).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let lines = existing.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.contains(where: { $0.trimmingCharacters(in: .whitespaces) == includeLine }) { return false }
        // At the top: ssh uses the first value it sees, and an Include after a `Host *` block could be shadowed.
        let header = "# Added by podctl: pods from the fleet file.\n\(includeLine)\n\n"
        try ControllerError.writing(AtomicFile.write(header + existing, to: userConfig, mode: 0o600))
        return true
    }
}
