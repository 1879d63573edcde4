import Foundation
import SSHClient
import TestProcesses

/// Real ed25519 keys made by the real ssh-keygen, once per test process.
final class HostKeys: Sendable {
    static let shared: HostKeys = {
        do { return try HostKeys(count: 4) } catch { fatalError("ssh-keygen: \(error)") }
    }()

    let dir: String
    let lines: [String]

    init(count: Int) throws {
        let dir = try Shell.temporaryDirectory("host-keys")
        self.dir = dir
        lines = try (0..<count).map { index in
            let path = "\(dir)/key\(index)"
            try OpenSSHServer.keygen(path)
            return try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Key `index` as SSHClient reads it.
    func key(_ index: Int) throws -> SSHPublicKey {
        let fields = lines[index].split(separator: " ")
        return try SSHPublicKey(type: String(fields[0]), base64: String(fields[1]))
    }
}
