import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodAgentExtras

extension SSHHostKey {
    /// Reads a `.pub` line (`TYPE BASE64 [COMMENT]`); nil when it is not one.
    public init?(publicKeyLine line: String) {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])), !blob.isEmpty else { return nil }
        // The blob starts with the algorithm name again (RFC 4253 6.6): a mismatch means a damaged file.
        guard blob.count >= 4 else { return nil }
        let length = blob.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, blob.count >= 4 + length,
              String(decoding: blob.dropFirst(4).prefix(length), as: UTF8.self) == String(fields[0]) else { return nil }
        self.init(type: String(fields[0]), publicKey: String(fields[1]), fingerprint: Self.fingerprint(blob: blob))
    }

    /// `SHA256:` + base64 of the blob's SHA-256, without padding (OpenSSH's format).
    public static func fingerprint(blob: Data) -> String {
        let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + String(digest.prefix { $0 != "=" })
    }
}

/// sshd's host keys, generated once with ssh-keygen into `<state dir>/ssh/` and reused on every start,
/// so the fingerprint users pinned survives pod restarts when the state dir is on /workspace.
struct HostKeys: Sendable {
    /// One host key file and the public key sshd serves from it.
    struct Key: Sendable, Equatable {
        /// The `-t` name it was generated with (ed25519, ecdsa, rsa).
        var type: String
        var path: String
        var publicKey: SSHHostKey
        var fingerprint: String { publicKey.fingerprint }
    }

    let directory: String
    let keygen: String
    let runner: CommandRunner

    /// Makes sure a key of each type exists (private 0600, public next to it) and returns their public keys.
    /// - Throws: ``AgentError`` when ssh-keygen fails or the directory cannot be used.
    func ensure(types: [String]) async throws(AgentError) -> (keys: [Key], generated: [String]) {
        try AgentError.writing(AtomicFile.ensureDirectory(directory, mode: 0o700))
        var keys: [Key] = []
        var generated: [String] = []
        for type in types {
            let path = "\(directory)/ssh_host_\(type)_key"
            if !FileManager.default.fileExists(atPath: path) {
                try await generate(type: type, path: path)
                generated.append(type)
            } else {
                // A private key readable by others makes sshd refuse it.
                chmod(path, 0o600)
            }
            keys.append(Key(type: type, path: path, publicKey: try await publicKey(of: path)))
        }
        return (keys, generated)
    }

    /// Generates into temporary names, then renames: a crash never leaves a half-written key behind.
    private func generate(type: String, path: String) async throws(AgentError) {
        let temporary = "\(directory)/.new-\(type)-\(getpid())"
        unlink(temporary)
        unlink(temporary + ".pub")
        var arguments = ["-q", "-t", type, "-N", "", "-C", "podagent-host-key", "-f", temporary]
        if type == "rsa" { arguments += ["-b", "3072"] }
        let output = try await runner.run(ProcessSpec(executable: keygen, arguments: arguments), timeout: .seconds(60))
        guard output.status.succeeded else {
            unlink(temporary)
            unlink(temporary + ".pub")
            throw AgentError(.system, "ssh-keygen -t \(type) failed (\(output.status)): \(output.stderr.trimmingSpace())")
        }
        chmod(temporary, 0o600)
        guard rename(temporary + ".pub", path + ".pub") == 0, rename(temporary, path) == 0 else {
            throw AgentError(.system, "\(path): cannot move the new host key in place: \(String(cString: strerror(errno)))")
        }
    }

    /// The public half derived from the private key (what sshd actually serves, whatever the `.pub` file
    /// says); the `.pub` file is rewritten when it is missing or differs.
    private func publicKey(of path: String) async throws(AgentError) -> SSHHostKey {
        let output = try await runner.run(ProcessSpec(executable: keygen, arguments: ["-y", "-f", path]), timeout: .seconds(30))
        guard output.status.succeeded, let key = SSHHostKey(publicKeyLine: output.stdout) else {
            throw AgentError(.system, "\(path): cannot read the host key (\(output.stderr.trimmingSpace())); move it away to get a new one")
        }
        let existing = (try? String(contentsOfFile: path + ".pub", encoding: .utf8)).flatMap { SSHHostKey(publicKeyLine: $0) }
        if existing != key {
            try AgentError.writing(AtomicFile.write("\(key.type) \(key.publicKey) podagent-host-key\n", to: path + ".pub", mode: 0o644))
        }
        return key
    }
}
