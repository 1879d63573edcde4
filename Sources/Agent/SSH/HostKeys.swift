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

/// A `.pub` line read and checked (`TYPE BASE64 [COMMENT]`): the type named in front is the one inside the blob.
struct PublicKeyLine: Sendable, Equatable {
    var type: String
    var base64: String

    /// Nil when `line` is not a public key line or its blob is damaged.
    init?(_ line: String) {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])), !blob.isEmpty else { return nil }
        // The blob starts with the algorithm name again (RFC 4253 6.6): a mismatch means a damaged file.
        guard blob.count >= 4 else { return nil }
        let length = blob.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, blob.count >= 4 + length,
              String(decoding: blob.dropFirst(4).prefix(length), as: UTF8.self) == String(fields[0]) else { return nil }
        (type, base64) = (String(fields[0]), String(fields[1]))
    }

    /// The `SHA256:` fingerprint from a line of `ssh-keygen -l -E sha256` (`BITS SHA256:... COMMENT (TYPE)`);
    /// nil when the line is not one. OpenSSH computes it, so podagent links no SHA-256 of its own (issue 17).
    static func fingerprint(keygenListing line: String) -> String? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count >= 2, Int(fields[0]) != nil, fields[1].hasPrefix("SHA256:"), fields[1].count > 7 else { return nil }
        return String(fields[1])
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
    /// says); the `.pub` file is rewritten when it is missing or differs. The fingerprint is OpenSSH's own
    /// (`ssh-keygen -l -E sha256`) of that `.pub` file, so it is what `ssh-keygen -lf` and ssh print.
    private func publicKey(of path: String) async throws(AgentError) -> SSHHostKey {
        let output = try await runner.run(ProcessSpec(executable: keygen, arguments: ["-y", "-f", path]), timeout: .seconds(30))
        guard output.status.succeeded, let key = PublicKeyLine(output.stdout) else {
            throw AgentError(.system, "\(path): cannot read the host key (\(output.stderr.trimmingSpace())); move it away to get a new one")
        }
        let existing = (try? String(contentsOfFile: path + ".pub", encoding: .utf8)).flatMap { PublicKeyLine($0) }
        if existing != key {
            try AgentError.writing(AtomicFile.write("\(key.type) \(key.base64) podagent-host-key\n", to: path + ".pub", mode: 0o644))
        }
        let listing = try await runner.run(
            ProcessSpec(executable: keygen, arguments: ["-l", "-E", "sha256", "-f", path + ".pub"]), timeout: .seconds(30))
        guard listing.status.succeeded, let fingerprint = PublicKeyLine.fingerprint(keygenListing: listing.stdout) else {
            throw AgentError(.system, "\(path).pub: ssh-keygen -l gave no SHA256 fingerprint (\(listing.status)): \(listing.stderr.trimmingSpace())")
        }
        return SSHHostKey(type: key.type, publicKey: key.base64, fingerprint: fingerprint)
    }
}
