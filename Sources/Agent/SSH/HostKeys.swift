import Foundation

/// sshd's host keys, generated once with ssh-keygen into `<state dir>/ssh/` and reused on every start,
/// so the fingerprint users pinned survives pod restarts when the state dir is on /workspace.
struct HostKeys: Sendable {
    /// One host key and its SHA256 fingerprint.
    struct Key: Sendable, Equatable {
        var type: String
        var path: String
        var fingerprint: String
    }

    let directory: String
    let keygen: String
    let runner: CommandRunner

    /// Makes sure a key of each type exists (private 0600, public next to it) and returns their fingerprints.
    /// - Throws: ``AgentError`` when ssh-keygen fails or the directory cannot be used.
    func ensure(types: [String]) async throws(AgentError) -> (keys: [Key], generated: [String]) {
        try AtomicFile.ensureDirectory(directory, mode: 0o700)
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
                if !FileManager.default.fileExists(atPath: path + ".pub") {
                    try await restorePublic(path: path)
                }
            }
            keys.append(Key(type: type, path: path, fingerprint: try await fingerprint(of: path + ".pub")))
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
            throw AgentError(.system, "ssh-keygen -t \(type) failed (\(output.status)): \(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        chmod(temporary, 0o600)
        guard rename(temporary + ".pub", path + ".pub") == 0, rename(temporary, path) == 0 else {
            throw AgentError(.system, "\(path): cannot move the new host key in place: \(String(cString: strerror(errno)))")
        }
    }

    private func restorePublic(path: String) async throws(AgentError) {
        let output = try await runner.run(ProcessSpec(executable: keygen, arguments: ["-y", "-f", path]), timeout: .seconds(30))
        guard output.status.succeeded else {
            throw AgentError(.system, "\(path): cannot read the host key (\(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); move it away to get a new one")
        }
        try AtomicFile.write(output.stdout, to: path + ".pub", mode: 0o644)
    }

    private func fingerprint(of publicKey: String) async throws(AgentError) -> String {
        let output = try await runner.run(ProcessSpec(executable: keygen, arguments: ["-l", "-E", "sha256", "-f", publicKey]), timeout: .seconds(30))
        let fields = output.stdout.split(separator: " ")
        guard output.status.succeeded, fields.count >= 2 else {
            throw AgentError(.system, "\(publicKey): cannot read the fingerprint: \(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(fields[1])
    }
}
