/// The SSHClient module's one error type: a kind callers can branch on and a message for people.
public struct SSHError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarse enough to summarise a fleet by.
    public enum Kind: String, Sendable, Codable {
        case connect, hostKeyUnknown = "host-key-unknown", hostKeyChanged = "host-key-changed", knownHosts = "known-hosts"
        case auth, channel, timeout, sftp, io, forward
    }

    public var kind: Kind
    public var message: String
    /// The server key's SHA256 fingerprint, when the error is about a host key.
    public var fingerprint: String?
    /// The request to run a command went out but no answer came back: the command may have started, so it
    /// must not be sent again elsewhere.
    public var commandMayHaveRun = false

    public init(_ kind: Kind, _ message: String, fingerprint: String? = nil) {
        self.kind = kind
        self.message = message
        self.fingerprint = fingerprint
    }

    public var description: String { message }
}
