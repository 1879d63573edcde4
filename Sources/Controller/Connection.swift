import Foundation
import SSHClient

/// Connection settings for one podctl run, shared by all pods.
public struct ConnectionSettings: Sendable {
    public var knownHostsFile: String
    public var hostKeyPolicy: HostKeyPolicy
    public var connectTimeout: Int
    public var useAgent: Bool
    public var keepaliveInterval: Int
    /// The ssh-agent socket; nil means `SSH_AUTH_SOCK`.
    public var agentSocket: String?

    public init(knownHostsFile: String, hostKeyPolicy: HostKeyPolicy = .strict, connectTimeout: Int = 10,
                useAgent: Bool = true, keepaliveInterval: Int = 30, agentSocket: String? = nil) {
        self.knownHostsFile = knownHostsFile
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.useAgent = useAgent
        self.keepaliveInterval = keepaliveInterval
        self.agentSocket = agentSocket
    }

    var sshOptions: SSHConnectOptions {
        SSHConnectOptions(knownHostsFile: knownHostsFile, hostKeyPolicy: hostKeyPolicy, connectTimeout: connectTimeout,
                          keepaliveInterval: keepaliveInterval, useAgent: useAgent, agentSocket: agentSocket)
    }

    /// Opens an authenticated session to `pod` (on the calling thread, which then owns it).
    public func connect(_ pod: Pod) throws(SSHError) -> SSHSession {
        try SSHSession(endpoint: Self.endpoint(pod), options: sshOptions)
    }

    /// Where and as whom to reach `pod`, and the names its host key is pinned under.
    public static func endpoint(_ pod: Pod) -> SSHEndpoint {
        SSHEndpoint(host: pod.host, port: pod.port, user: pod.user, identityFiles: pod.identity.map { [$0] } ?? [],
                    hostKeyAlias: pod.hostKeyAlias)
    }
}

/// Milliseconds between two instants.
func milliseconds(_ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> Double {
    let duration = to - from
    return Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}
