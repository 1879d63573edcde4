import CLibSSH

/// The linked libssh's version string.
public enum SSHLibrary {
    public static var version: String { String(cString: ssh_version(0)) }
}

/// How unknown and changed host keys are treated.
public enum HostKeyPolicy: String, Sendable, CaseIterable, Codable {
    /// Unknown or changed keys fail the connection (the default).
    case strict
    /// Unknown keys are recorded in known_hosts; changed keys fail.
    case acceptNew = "accept-new"
    /// No checking at all: only when the user asks for it.
    case off
}

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

/// Connection settings shared by every pod of a run (Codable: podctl hands them to its mux).
public struct SSHConnectOptions: Sendable, Codable {
    public var knownHostsFile: String
    public var hostKeyPolicy: HostKeyPolicy
    /// Seconds for connect, key exchange and each blocking read (libssh's SSH_OPTIONS_TIMEOUT).
    public var connectTimeout: Int
    /// Seconds between keepalives while a command runs quietly; 0 turns them off.
    public var keepaliveInterval: Int
    /// Whether the ssh-agent is tried after the identity files.
    public var useAgent: Bool
    /// The agent's socket; nil means `SSH_AUTH_SOCK` from the environment.
    public var agentSocket: String?

    public init(knownHostsFile: String, hostKeyPolicy: HostKeyPolicy = .strict, connectTimeout: Int = 10,
                keepaliveInterval: Int = 30, useAgent: Bool = true, agentSocket: String? = nil) {
        self.knownHostsFile = knownHostsFile
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.useAgent = useAgent
        self.agentSocket = agentSocket
    }
}
