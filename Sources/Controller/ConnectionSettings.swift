import Foundation
import SSHClient

/// How one podctl run reaches its pods: libssh's options (host keys, timeouts, agent), and with
/// `--persist` the mux that keeps sessions for later runs. Codable: the mux receives it with each request.
public struct ConnectionSettings: Sendable, Codable {
    /// What every session of the run is opened with.
    public var ssh: SSHConnectOptions
    /// With `--persist`: commands go through the mux and its kept sessions.
    public var persist: PersistSettings?

    public init(ssh: SSHConnectOptions, persist: PersistSettings? = nil) {
        self.ssh = ssh
        self.persist = persist
    }

    /// Opens an authenticated session to `pod` (on the calling thread, which then owns it).
    public func connect(_ pod: Pod) throws(SSHError) -> SSHSession {
        try SSHSession(endpoint: Self.endpoint(pod), options: ssh)
    }

    /// Where and as whom to reach `pod`, and the names its host key is pinned under.
    public static func endpoint(_ pod: Pod) -> SSHEndpoint {
        SSHEndpoint(host: pod.host, port: pod.port, user: pod.user, identityFiles: pod.identity.map { [$0] } ?? [],
                    hostKeyAlias: pod.hostKeyAlias)
    }
}
