import Foundation
import SSHClient
import Testing
import TestProcesses

/// libssh through SSHClient against a real OpenSSH sshd on loopback: host keys, exec, SFTP.
@Suite("SSHSession against a real sshd", .serialized)
struct SSHSessionTests {
    /// One sshd for the suite, with a client key it accepts.
    final class Server: Sendable {
        static let shared: Server = {
            do { return try Server() } catch { fatalError("could not start sshd: \(error)") }
        }()

        let dir: String
        let clientKey: String
        let sshd: OpenSSHServer

        init() throws {
            dir = try Shell.temporaryDirectory("sshclient")
            clientKey = "\(dir)/client"
            try OpenSSHServer.keygen(clientKey)
            try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: "\(dir)/authorized_keys")
            sshd = try OpenSSHServer(dir: dir, name: "sshd", authorizedKeys: "\(dir)/authorized_keys", extraConfig: ["SetEnv HOME=\(dir)"])
        }

        var endpoint: SSHEndpoint { SSHEndpoint(host: "127.0.0.1", port: sshd.port, user: "root", identityFiles: [clientKey]) }

        func options(_ knownHosts: String, _ policy: HostKeyPolicy = .strict) -> SSHConnectOptions {
            SSHConnectOptions(knownHostsFile: knownHosts, hostKeyPolicy: policy, connectTimeout: 10, useAgent: false)
        }

        /// known_hosts holding the server's real key.
        func knownHosts() throws -> String {
            let file = "\(try Shell.temporaryDirectory("kh"))/known_hosts"
            try (sshd.knownHostsLine + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    let server = Server.shared

    /// What `ssh-keygen -l` prints for a public key file: `SHA256:...`.
    func keygenFingerprint(_ publicKeyFile: String) throws -> String {
        let listed = try Shell.run(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", publicKeyFile])
        return try #require(listed.stdout.split(separator: " ").dropFirst().first.map(String.init), "ssh-keygen: \(listed.stderr)")
    }

    @Test func hostKeyPoliciesUnknownAcceptNewAndChanged() throws {
        let dir = try Shell.temporaryDirectory("policies")
        let fingerprint = try keygenFingerprint(server.sshd.hostKey + ".pub")
        // strict: an unknown key is refused, and the error names its fingerprint as ssh-keygen prints it.
        let unknown = #expect(throws: SSHError.self) { _ = try SSHSession(endpoint: server.endpoint, options: server.options("\(dir)/empty")) }
        #expect(unknown?.kind == .hostKeyUnknown && unknown?.fingerprint == fingerprint, "\(String(describing: unknown))")
        // accept-new records it once; then strict accepts it.
        let recorded = "\(dir)/recorded"
        let first = try SSHSession(endpoint: server.endpoint, options: server.options(recorded, .acceptNew))
        #expect(first.recordedNewHostKey && first.hostKeyFingerprint == fingerprint)
        #expect(try KnownHostsFile(path: recorded).keys(for: "[127.0.0.1]:\(server.sshd.port)").map(\.fingerprint) == [fingerprint])
        let again = try SSHSession(endpoint: server.endpoint, options: server.options(recorded))
        #expect(!again.recordedNewHostKey)
        // A pinned key that differs is refused even with accept-new, and the file is left as it was.
        let other = try HostKeysForChange.otherKeyLine(port: server.sshd.port)
        let changed = "\(dir)/changed"
        try (other + "\n").write(toFile: changed, atomically: true, encoding: .utf8)
        let refused = #expect(throws: SSHError.self) { _ = try SSHSession(endpoint: server.endpoint, options: server.options(changed, .acceptNew)) }
        #expect(refused?.kind == .hostKeyChanged, "\(String(describing: refused))")
        #expect(try String(contentsOfFile: changed, encoding: .utf8) == other + "\n")
    }

    @Test func execGivesBothStreamsAndTheExitStatus() throws {
        let session = try SSHSession(endpoint: server.endpoint, options: server.options(try server.knownHosts()))
        let ran = try session.run("printf out; printf err >&2; exit 3")
        #expect(ran.status == 3 && ran.stdout == Array("out".utf8) && ran.stderr == Array("err".utf8))
        var chunks = 0
        var received = 0
        // 4 MiB through one channel, read as it arrives.
        let outcome = try session.exec("head -c 4194304 /dev/zero") { stream, bytes in
            if stream == .stdout { received += bytes.count; chunks += 1 }
        }
        #expect(outcome.exitStatus == 0 && received == 4 << 20 && chunks > 1)
        let killed = try session.exec("kill -TERM $$") { _, _ in }
        #expect(killed.exitStatus == nil && killed.exitSignal == "TERM", "\(killed)")
    }

    @Test func sftpUploadsAndDownloadsTheSameBytes() throws {
        let session = try SSHSession(endpoint: server.endpoint, options: server.options(try server.knownHosts()))
        let sftp = try SFTPSession(session: session)
        let dir = try Shell.temporaryDirectory("sftp")
        var bytes = [UInt8](repeating: 0, count: 700_001)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let local = "\(dir)/local.bin"
        FileManager.default.createFile(atPath: local, contents: Data(bytes))
        let handle = try #require(FileHandle(forReadingAtPath: local))
        defer { try? handle.close() }
        try sftp.upload(from: handle, to: "\(dir)/remote.bin", mode: 0o600)
        #expect(try sftp.size(of: "\(dir)/remote.bin") == UInt64(bytes.count))
        var back: [UInt8] = []
        try sftp.download("\(dir)/remote.bin") { back += $0 }
        #expect(back == bytes)
        let missing = #expect(throws: SSHError.self) { try sftp.download("\(dir)/nope") { _ in } }
        #expect(missing?.kind == .sftp && missing?.message.contains("nope") == true, "\(String(describing: missing))")
    }

    @Test func fingerprintsAreOpenSSHs() throws {
        for index in 0..<3 {
            let key = try HostKeys.shared.key(index)
            #expect(key.fingerprint == (try keygenFingerprint("\(HostKeys.shared.dir)/key\(index).pub")))
        }
        #expect(throws: SSHError.self) { _ = try SSHPublicKey(type: "ssh-ed25519", base64: "bm90IGEga2V5") }
    }
}

/// A known_hosts line that pins another key for the server's name: what a recreated pod looks like.
enum HostKeysForChange {
    static func otherKeyLine(port: Int) throws -> String {
        "[127.0.0.1]:\(port) \(HostKeys.shared.lines[3].split(separator: " ").prefix(2).joined(separator: " "))"
    }
}
