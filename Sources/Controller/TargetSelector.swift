import Foundation

/// Which pods a command runs on: `-w` patterns, `-g` labels, `-x` exclusions.
public struct TargetSpec: Sendable {
    public var patterns: [String]
    public var groups: [String]
    public var excludes: [String]

    public init(patterns: [String] = [], groups: [String] = [], excludes: [String] = []) {
        self.patterns = patterns
        self.groups = groups
        self.excludes = excludes
    }
}

/// Resolves a `TargetSpec` against the inventory, `~/.ssh/config` hosts and inline `user@host:port`.
public struct TargetSelector: Sendable {
    public var inventory: Inventory
    public var sshConfig: SSHConfigHosts
    /// User and key for targets that name neither (inline hosts, ssh-config hosts without them).
    public var fallback: Pod

    public init(inventory: Inventory, sshConfig: SSHConfigHosts, fallback: Pod) {
        self.inventory = inventory
        self.sshConfig = sshConfig
        self.fallback = fallback
    }

    /// The selected pods in a stable order; no pattern and no group means the whole inventory.
    public func select(_ spec: TargetSpec) throws(ControllerError) -> [Pod] {
        var chosen: [Pod] = []
        if spec.patterns.isEmpty && spec.groups.isEmpty {
            chosen = inventory.pods
        }
        for list in spec.patterns {
            for pattern in HostRange.splitList(list) {
                chosen += try resolve(pattern)
            }
        }
        for group in spec.groups.flatMap({ HostRange.splitList($0) }) {
            let members = inventory.pods.filter { $0.labels.contains(group) }
            if members.isEmpty { throw ControllerError(.targets, "no pod has the label '\(group)'\(whereText)") }
            chosen += members
        }
        var excluded = Set<String>()
        for list in spec.excludes {
            for pattern in HostRange.splitList(list) {
                for name in try HostRange.expand(pattern) {
                    if isGlob(name) {
                        excluded.formUnion(chosen.map(\.name).filter { glob(name, matches: $0) })
                    } else {
                        excluded.insert(name)
                    }
                }
            }
        }
        var seen = Set<String>()
        let result = chosen.filter { !excluded.contains($0.name) && seen.insert($0.name).inserted }
        if result.isEmpty { throw ControllerError(.targets, "no pods selected\(whereText)") }
        return result
    }

    private var whereText: String { inventory.path.map { " in \($0)" } ?? "" }

    private func isGlob(_ name: String) -> Bool { name.contains("*") || name.contains("?") }

    private func glob(_ pattern: String, matches name: String) -> Bool { fnmatch(pattern, name, 0) == 0 }

    private func resolve(_ pattern: String) throws(ControllerError) -> [Pod] {
        var pods: [Pod] = []
        for name in try HostRange.expand(pattern) {
            if isGlob(name) {
                let matches = inventory.pods.filter { glob(name, matches: $0.name) }
                if matches.isEmpty { throw ControllerError(.targets, "'\(name)' matches no pod\(whereText)") }
                pods += matches
            } else if let pod = inventory.pods.first(where: { $0.name == name }) {
                pods.append(pod)
            } else if let entry = sshConfig.entries[name] {
                var pod = fallback
                pod.name = name
                pod.host = entry.hostName ?? name
                pod.port = entry.port ?? 22
                pod.user = entry.user ?? fallback.user
                pod.identity = entry.identityFile ?? fallback.identity
                pod.hostKeyAlias = entry.hostKeyAlias
                pods.append(pod)
            } else if name.contains("@") || name.contains(":") || name.contains(".") {
                pods.append(try inline(name))
            } else {
                throw ControllerError(.targets, "no pod named '\(name)'\(whereText) or in ~/.ssh/config")
            }
        }
        return pods
    }

    /// `[user@]host[:port]`, with `[v6addr]:port` for IPv6.
    func inline(_ text: String) throws(ControllerError) -> Pod {
        var pod = fallback
        pod.name = text
        var rest = Substring(text)
        if let at = rest.lastIndex(of: "@") {
            pod.user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            pod.host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if rest.hasPrefix(":") { rest = rest.dropFirst() } else { rest = "" }
            pod.port = rest.isEmpty ? 22 : Int(rest) ?? -1
        } else if let colon = rest.lastIndex(of: ":") {
            pod.host = String(rest[..<colon])
            pod.port = Int(rest[rest.index(after: colon)...]) ?? -1
        } else {
            pod.host = String(rest)
            pod.port = 22
        }
        guard !pod.user.isEmpty, !pod.host.isEmpty, (1...65535).contains(pod.port) else {
            throw ControllerError(.targets, "'\(text)' is not a valid target: expected user@host:port")
        }
        return pod
    }
}
