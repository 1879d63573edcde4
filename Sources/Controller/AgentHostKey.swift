import SSHClient

/// One host key as a pod's agent reported it, checked: libssh read it, and its fingerprint was
/// recomputed here (by libssh) rather than taken from the answer.
public struct AgentHostKey: Sendable, Equatable {
    public var key: SSHPublicKey
    /// `SHA256:` + unpadded base64 of the blob's SHA-256, as OpenSSH prints it.
    public var fingerprint: String

    public init(key: SSHPublicKey, fingerprint: String) {
        self.key = key
        self.fingerprint = fingerprint
    }
}
