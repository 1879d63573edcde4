import CLibSSH

/// How unknown and changed host keys are treated.
public enum HostKeyPolicy: String, Sendable, CaseIterable, Codable {
    /// Unknown or changed keys fail the connection (the default).
    case strict
    /// Unknown keys are recorded in known_hosts; changed keys fail.
    case acceptNew = "accept-new"
    /// No checking at all: only when the user asks for it.
    case off
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
