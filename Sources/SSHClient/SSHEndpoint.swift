import CLibSSH

/// Where and how to connect to one pod.
public struct SSHEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String
    /// Private key files tried in order before the agent.
    public var identityFiles: [String]
    /// The name host keys are looked up and recorded under, as OpenSSH's `HostKeyAlias` (lowercased, as ssh
    /// does); nil uses `host` or `[host]:port`. With an alias, entries under `[host]:port` still count
    /// when the alias has none.
    public var hostKeyAlias: String?

    public init(host: String, port: Int = 22, user: String, identityFiles: [String] = [], hostKeyAlias: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
        self.hostKeyAlias = hostKeyAlias?.lowercased()
    }

    /// The names this endpoint's host key is looked up under, in order: the alias, then `[host]:port`.
    public var knownHostsNames: [String] {
        let hostPort = KnownHostsFile.entryName(host: host, port: port)
        guard let hostKeyAlias, hostKeyAlias != hostPort else { return [hostPort] }
        return [hostKeyAlias, hostPort]
    }
}
