import CLibSSH
import Foundation

/// A public SSH key: its algorithm name and blob, checked by libssh.
public struct SSHPublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The algorithm name as known_hosts writes it (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`).
    public let type: String
    /// The key blob, base64.
    public let base64: String

    /// Checks that libssh can read `base64` as a key of `type`.
    /// - Throws: ``SSHError`` `.io` naming the type when it cannot.
    public init(type: String, base64: String) throws(SSHError) {
        let keyType = ssh_key_type_from_name(type)
        var key: ssh_key?
        guard keyType != SSH_KEYTYPE_UNKNOWN, ssh_pki_import_pubkey_base64(base64, keyType, &key) == SSH_OK, let key else {
            throw SSHError(.io, "not a valid \(type) public key")
        }
        ssh_key_free(key)
        guard Data(base64Encoded: base64) != nil else { throw SSHError(.io, "not a valid \(type) public key (base64)") }
        self.type = type
        self.base64 = base64
    }

    /// The server's key from a libssh key handle.
    init(_ key: ssh_key) throws(SSHError) {
        var text: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(key, &text) == SSH_OK, let text else {
            throw SSHError(.connect, "libssh cannot export the server's host key")
        }
        defer { ssh_string_free_char(text) }
        guard let name = ssh_key_type_to_char(ssh_key_type(key)) else {
            throw SSHError(.connect, "the server's host key has a type libssh does not know")
        }
        type = String(cString: name)
        base64 = String(cString: text)
    }

    /// The raw blob (what fingerprints hash).
    public var blob: Data { Data(base64Encoded: base64) ?? Data() }

    /// `SHA256:` and the unpadded base64 SHA-256 of the blob, computed by libssh as OpenSSH prints it.
    public var fingerprint: String {
        var key: ssh_key?
        guard ssh_pki_import_pubkey_base64(base64, ssh_key_type_from_name(type), &key) == SSH_OK, let key else { return "?" }
        defer { ssh_key_free(key) }
        return SSHSession.fingerprint(of: key)
    }

    public var description: String { "\(type) \(base64)" }

    public static func == (lhs: SSHPublicKey, rhs: SSHPublicKey) -> Bool { lhs.type == rhs.type && lhs.blob == rhs.blob }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(blob)
    }
}
