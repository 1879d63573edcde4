/// `GET /v2/ssh/host-keys`: every key sshd serves, so a client can pin them before its first connection.
public struct HostKeyList: Sendable, Codable, Equatable {
    public var hostKeys: [SSHHostKey]

    public init(hostKeys: [SSHHostKey]) { self.hostKeys = hostKeys }

    enum CodingKeys: String, CodingKey { case hostKeys = "host_keys" }
}

/// One public host key as sshd offers it: the algorithm name, the key blob in base64, and the
/// SHA256 fingerprint OpenSSH prints for it.
public struct SSHHostKey: Sendable, Equatable, Codable {
    /// The key's algorithm name as in a `.pub` file and known_hosts (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`).
    public var type: String
    /// The public key blob, base64 (the second field of a `.pub` line).
    public var publicKey: String
    /// `SHA256:` and the unpadded base64 SHA-256 of the blob, as `ssh-keygen -l` prints it.
    public var fingerprint: String

    public init(type: String, publicKey: String, fingerprint: String) {
        (self.type, self.publicKey, self.fingerprint) = (type, publicKey, fingerprint)
    }

    enum CodingKeys: String, CodingKey {
        case type, publicKey = "public_key", fingerprint
    }
}
