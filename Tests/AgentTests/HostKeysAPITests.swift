import Foundation
import Testing

@testable import Agent

/// `GET /v2/ssh/host-keys` against podagent's built binary managing a real sshd.
@Suite("sshd host keys over the API")
struct HostKeysAPITests {
    /// The keys sshd serves as the real `ssh-keyscan` sees them, `TYPE BASE64` sorted, and their fingerprints
    /// as the real `ssh-keygen -l` prints them.
    static func keyscan(port: Int, in workspace: TestWorkspace) async throws -> (keys: [String], fingerprints: Set<String>) {
        let scan = try await Tools.run("/usr/bin/ssh-keyscan", ["-p", String(port), "-t", "rsa,ecdsa,ed25519", "127.0.0.1"])
        let lines = scan.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
        let file = try workspace.write(lines.joined(separator: "\n") + "\n", to: "scanned-\(UUID().uuidString.prefix(4))")
        let listed = try await Tools.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", file])
        let fingerprints = Set(listed.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) })
        return (lines.map { $0.split(separator: " ").dropFirst().prefix(2).joined(separator: " ") }.sorted(), fingerprints)
    }

    static func hostKeys(_ agent: PodAgentProcess, token: String?) async throws -> (status: Int, object: [String: Any]) {
        let response = try await httpGet("http://127.0.0.1:\(agent.httpPort)/v2/ssh/host-keys", token: token)
        return (response.status, try jsonObject(response))
    }

    @Test("the route's keys and fingerprints equal ssh-keyscan's (ed25519, ecdsa, rsa); 401 without the token or with a wrong one")
    func keysEqualKeyscan() async throws {
        try await withWorkspace { workspace in
            let port = Tools.freePort()
            let token = "hk-\(UUID().uuidString)"
            try await PodAgentProcess.with(
                workspace, config: workspace.config(sshPort: port), sshPort: port,
                environment: ["PUBLIC_KEY": try workspace.publicKey, "PODAGENT_TOKEN": token, "PODAGENT_SSH_RSA": "true"]
            ) { agent in
                // /health needs the token too, so wait on it with the token.
                try await agent.wait("sshd to be running") {
                    let body = try blockingGet("http://127.0.0.1:\(agent.httpPort)/health", token: token, timeout: .seconds(5)).body
                    return try JSONDecoder().decode(HealthReport.self, from: body).parts["sshd"]?.state == "running"
                }
                let missing = try await Self.hostKeys(agent, token: nil)
                #expect(missing.status == 401)
                #expect((missing.object["error"] as? String)?.contains("token") == true)
                #expect(try await Self.hostKeys(agent, token: "wrong").status == 401)

                let answer = try await Self.hostKeys(agent, token: token)
                #expect(answer.status == 200)
                let keys = try #require(answer.object["host_keys"] as? [[String: String]])
                let served = keys.map { "\($0["type"] ?? "") \($0["public_key"] ?? "")" }.sorted()
                let scanned = try await Self.keyscan(port: port, in: workspace)
                #expect(served.count == 3)
                #expect(served == scanned.keys)
                #expect(Set(keys.compactMap { $0["fingerprint"] }) == scanned.fingerprints)
                #expect(Set(keys.compactMap { $0["type"] }) == ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"])
                // /health shows the same fingerprints.
                let health = try await httpGet("http://127.0.0.1:\(agent.httpPort)/health", token: token)
                let report = try JSONDecoder().decode(HealthReport.self, from: health.body)
                #expect(report.parts["sshd"]?.details["host_key_ed25519"].map { scanned.fingerprints.contains($0) } == true)
                // The token never reaches the log.
                #expect(!agent.log.contains(token))
            }
        }
    }

    @Test("a .pub file that no longer matches its private key is not believed: the route serves what sshd serves")
    func stalePublicKeyFileIsRewritten() async throws {
        try await withWorkspace { workspace in
            let port = Tools.freePort()
            let config = workspace.config(sshPort: port)
            let environment = ["PUBLIC_KEY": try workspace.publicKey]
            try await PodAgentProcess.with(workspace, config: config, sshPort: port, environment: environment) { agent in
                try await agent.waitForSSHD()
            }
            // Someone replaced the .pub with another key's (a copied state dir, a bad restore).
            let stranger = workspace.path + "/stranger"
            _ = try await Tools.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger])
            let pub = workspace.path + "/state/ssh/ssh_host_ed25519_key.pub"
            try FileManager.default.removeItem(atPath: pub)
            try FileManager.default.copyItem(atPath: stranger + ".pub", toPath: pub)
            try await PodAgentProcess.with(workspace, config: config, sshPort: port, environment: environment) { agent in
                try await agent.waitForSSHD()
                let answer = try await Self.hostKeys(agent, token: nil)
                let keys = try #require(answer.object["host_keys"] as? [[String: String]])
                let served = keys.map { "\($0["type"] ?? "") \($0["public_key"] ?? "")" }.sorted()
                #expect(served == (try await Self.keyscan(port: port, in: workspace)).keys)
                let strangerKey = try String(contentsOfFile: stranger + ".pub", encoding: .utf8).split(separator: " ")[1]
                #expect(!served.contains { $0.hasSuffix(String(strangerKey)) })
                #expect(try String(contentsOfFile: pub, encoding: .utf8).contains(String(strangerKey)) == false)
            }
        }
    }

    @Test("503 naming the reason when podagent does not manage sshd")
    func notManagedIs503() async throws {
        try await withWorkspace { workspace in
            let config = """
                state_dir: \(workspace.path)/state
                http: {host: 127.0.0.1, port: 0}
                shutdown_timeout: 3
                ssh: {enabled: "off"}

                """
            try await PodAgentProcess.with(workspace, config: config, sshPort: 0) { agent in
                let answer = try await Self.hostKeys(agent, token: nil)
                #expect(answer.status == 503)
                let message = try #require(answer.object["error"] as? String)
                #expect(message.contains("not managed") && message.contains("ssh.enabled is off"), "\(message)")
            }
        }
    }

    @Test("a .pub line is read as OpenSSH writes it and the fingerprint is the one ssh-keygen -l prints; damaged lines and listings are refused")
    func publicKeyLines() async throws {
        try await withWorkspace { workspace in
            for type in ["ed25519", "ecdsa"] {
                let path = workspace.path + "/k-\(type)"
                _ = try await Tools.run("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "a comment", "-f", path])
                let line = try String(contentsOfFile: path + ".pub", encoding: .utf8)
                let key = try #require(PublicKeyLine(line))
                let fields = line.split(separator: " ")
                #expect(key.type == String(fields[0]) && key.base64 == String(fields[1]))
                let listed = try await Tools.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", path + ".pub"])
                let fingerprint = try #require(PublicKeyLine.fingerprint(keygenListing: listed.stdout))
                #expect(fingerprint == String(listed.stdout.split(separator: " ")[1]))
                #expect(fingerprint.hasPrefix("SHA256:") && !fingerprint.hasSuffix("="))
                // The type named in front must be the one inside the blob.
                #expect(PublicKeyLine("ssh-rsa \(fields[1])") == nil)
            }
            #expect(PublicKeyLine("") == nil)
            #expect(PublicKeyLine("ssh-ed25519") == nil)
            #expect(PublicKeyLine("ssh-ed25519 !!!notbase64") == nil)
            #expect(PublicKeyLine("ssh-ed25519 AAAA") == nil)
            // What ssh-keygen prints when it fails, or an MD5 listing, is no SHA256 fingerprint.
            #expect(PublicKeyLine.fingerprint(keygenListing: "") == nil)
            #expect(PublicKeyLine.fingerprint(keygenListing: "k.pub is not a public key file.\n") == nil)
            #expect(PublicKeyLine.fingerprint(keygenListing: "256 MD5:3c:aa:01 c (ED25519)\n") == nil)
            #expect(PublicKeyLine.fingerprint(keygenListing: "256 SHA256: c (ED25519)\n") == nil)
        }
    }
}
