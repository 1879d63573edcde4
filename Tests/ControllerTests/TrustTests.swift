import AgentAPI
import Controller
import Foundation
import SSHClient
import Testing
import TestProcesses

/// `podctl trust` (the real binary) against a real `podagent run` managing a real sshd: host keys
/// fetched from the agent's API and pinned, then checked strictly by podctl and by the real `ssh`.
@Suite("podctl trust: host keys from the agent, pinned before the first connection")
struct TrustTests {
    let fleet = SSHDFleet.shared

    func startAgent() throws -> SSHDPodagent {
        try SSHDPodagent(authorizedKey: try String(contentsOfFile: fleet.clientKey + ".pub", encoding: .utf8))
    }

    /// A fleet file with one pod, `gpu-1`, served by `agent`.
    func fleetFile(_ dir: String, _ agent: SSHDPodagent, host: String = "127.0.0.1", port: Int? = nil,
                   agentURL: String? = nil, tokenFile: Bool = true, name: String = "fleet.yaml") throws -> String {
        var entry = "name: gpu-1, host: \(host), port: \(port ?? agent.sshPort), identity: \(fleet.clientKey)"
        entry += ", agent_url: \"\(agentURL ?? agent.baseURL)\""
        if tokenFile { entry += ", token_file: \(agent.tokenFile)" }
        let path = "\(dir)/\(name)"
        try "pods:\n  - {\(entry)}\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func podctl(_ arguments: [String], _ extra: [String: String] = [:], home: String) throws -> Shell.Result {
        try Shell.run([Shell.binary("podctl")] + arguments, environment: Shell.environment(["HOME": home].merging(extra) { $1 }), timeout: 90)
    }

    /// `name -> sorted "TYPE BASE64"` from a known_hosts file.
    func pins(_ file: String) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ")
            result[String(fields[0]), default: []].append(fields[1...2].joined(separator: " "))
        }
        return result.mapValues { $0.sorted() }
    }

    @Test("trust pins every key sshd serves (as ssh-keyscan sees them) under the alias and [host]:port; a strict exec then succeeds on the first connection")
    func trustThenStrictExec() throws {
        let agent = try startAgent()
        defer { agent.stop() }
        let dir = try Shell.temporaryDirectory("trust")
        let file = try fleetFile(dir, agent)
        let knownHosts = "\(dir)/ssh/known_hosts"
        #expect(!FileManager.default.fileExists(atPath: knownHosts))

        let trusted = try podctl(["trust", "-i", file, "--known-hosts", knownHosts], home: dir)
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(trusted.stdout.hasPrefix("gpu-1: pinned 4 known_hosts entries as gpu-1 and [127.0.0.1]:\(agent.sshPort)"), "\(trusted.stdout)")
        #expect(!(trusted.stdout + trusted.stderr).contains(agent.token))
        let scanned = try agent.keyscan()
        #expect(try pins(knownHosts) == ["gpu-1": scanned, "[127.0.0.1]:\(agent.sshPort)": scanned])
        // OpenSSH's own tools read what was written.
        #expect(try Shell.run(["/usr/bin/ssh-keygen", "-F", "gpu-1", "-f", knownHosts]).status == 0)

        let exec = try podctl(["exec", "-i", file, "--known-hosts", knownHosts, "--host-keys", "strict", "--", "echo first-connection"], home: dir)
        #expect(exec.status == 0, "\(exec.stderr)")
        #expect(exec.stdout == "gpu-1: first-connection\n")

        // Trusting again changes nothing.
        let before = try String(contentsOfFile: knownHosts, encoding: .utf8)
        let again = try podctl(["trust", "-i", file, "--known-hosts", knownHosts], home: dir)
        #expect(again.status == 0 && again.stdout.contains("gpu-1: already pinned"), "\(again.stdout)\(again.stderr)")
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == before)
    }

    @Test("the agent's fingerprints (computed by OpenSSH's ssh-keygen in the pod) equal what ssh-keygen -lf prints and what podctl's libssh computes for the same keys")
    func fingerprintsAgreeAcrossAgentKeygenAndLibssh() throws {
        let agent = try startAgent()
        defer { agent.stop() }
        let dir = try Shell.temporaryDirectory("trust-fingerprints")
        let client = AgentClient(transport: try CurlAgentTransport(baseURL: agent.baseURL), token: try AgentToken(agent.token, source: "test"))
        let served = try client.hostKeys().hostKeys
        #expect(served.count >= 2, "\(served)")
        for entry in served {
            let file = "\(dir)/\(entry.type).pub"
            try "\(entry.type) \(entry.publicKey) served\n".write(toFile: file, atomically: true, encoding: .utf8)
            let listed = try Shell.run(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", file])
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(entry.fingerprint.hasPrefix("SHA256:") && !entry.fingerprint.hasSuffix("="), "\(entry.fingerprint)")
            #expect(listed.stdout.split(separator: " ").dropFirst().first.map(String.init) == entry.fingerprint, "\(entry.type): \(listed.stdout)")
            #expect(try SSHPublicKey(type: entry.type, base64: entry.publicKey).fingerprint == entry.fingerprint, "\(entry.type)")
        }
        // What podctl trust runs takes them: it recomputes each fingerprint with libssh and refuses a mismatch.
        let keys = try TrustCommand.fetch(Pod(name: "gpu-1", host: "127.0.0.1", port: agent.sshPort, agentURL: agent.baseURL),
                                          token: try AgentToken(agent.token, source: "test"), caFile: nil, timeout: 30)
        #expect(Set(keys.map(\.fingerprint)) == Set(served.map(\.fingerprint)))
    }

    @Test("the real ssh with the written ssh-config connects strictly through HostKeyAlias, and the pin survives a new address")
    func realSSHThroughHostKeyAlias() throws {
        let agent = try startAgent()
        defer { agent.stop() }
        let dir = try Shell.temporaryDirectory("trust-alias")
        let home = "\(dir)/home"
        let file = try fleetFile(dir, agent)
        let full = "\(dir)/known_hosts"
        #expect(try podctl(["trust", "-i", file, "--known-hosts", full], home: home).status == 0)
        // Only the entries under the pod's name: whatever connects must look the key up by the alias.
        let aliasOnly = "\(dir)/known_hosts.alias"
        let lines = try String(contentsOfFile: full, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("gpu-1 ") }
        #expect(lines.count == 2)
        try (lines.joined(separator: "\n") + "\n").write(toFile: aliasOnly, atomically: true, encoding: .utf8)

        for host in ["127.0.0.1", "127.0.0.2"] {
            // 127.0.0.2 is the same sshd at another address: what a pod restarted on a new IP looks like.
            let moved = try fleetFile(dir, agent, host: host, name: "fleet-\(host).yaml")
            let written = try podctl(["ssh-config", "-i", moved, "--known-hosts", aliasOnly, "--write"], home: home)
            #expect(written.status == 0, "\(written.stderr)")
            let config = try String(contentsOfFile: "\(home)/.ssh/podctl/config", encoding: .utf8)
            #expect(config.contains("HostKeyAlias gpu-1\n") && config.contains("StrictHostKeyChecking yes\n") && config.contains("HostName \(host)\n"))
            let ssh = try Shell.run(["/usr/bin/ssh", "-F", "\(home)/.ssh/config", "-o", "BatchMode=yes", "gpu-1", "echo via-ssh"], timeout: 30)
            #expect(ssh.status == 0, "\(host): \(ssh.stderr)")
            #expect(ssh.stdout == "via-ssh\n")
            let exec = try podctl(["exec", "-i", moved, "--known-hosts", aliasOnly, "--", "echo via-podctl"], home: home)
            #expect(exec.status == 0, "\(host): \(exec.stderr)")
            #expect(exec.stdout == "gpu-1: via-podctl\n")
        }
        // The control: the same server as an inline target (no alias) is unknown to that file.
        try "pods: []\n".write(toFile: "\(dir)/empty.yaml", atomically: true, encoding: .utf8)
        let inline = try podctl(["exec", "--known-hosts", aliasOnly, "-i", "\(dir)/empty.yaml", "-w", "root@127.0.0.2:\(agent.sshPort)",
                                 "--", "true"], home: home)
        #expect(inline.status != 0)
        #expect(inline.stderr.contains("host key"), "\(inline.stderr)")
    }

    @Test("a key that differs from the pinned one is refused and reported; nothing is written, and strict exec refuses too")
    func changedKeyIsRefused() throws {
        let agent = try startAgent()
        defer { agent.stop() }
        let dir = try Shell.temporaryDirectory("trust-changed")
        let file = try fleetFile(dir, agent)
        // Another server's ed25519 key, pinned for this pod: exactly what a recreated or impersonated pod looks like.
        let otherKey = fleet.hostKeyLines[0].split(separator: " ").dropFirst().joined(separator: " ")
        for name in ["gpu-1", "[127.0.0.1]:\(agent.sshPort)"] {
            let knownHosts = "\(dir)/known_hosts-\(name.count)"
            try "# pinned earlier\n\(name) \(otherKey)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
            let before = try String(contentsOfFile: knownHosts, encoding: .utf8)
            let refused = try podctl(["trust", "-i", file, "--known-hosts", knownHosts], home: dir)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("gpu-1: REFUSED: HOST KEY CHANGED: \(name) pins ssh-ed25519 SHA256:"), "\(refused.stderr)")
            #expect(refused.stderr.contains("ssh-keygen -R '\(name)'"))
            #expect(refused.stderr.contains("1 of 1 pods not trusted"))
            // All or nothing: not even the other name or the other key types were added.
            #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == before)
            let exec = try podctl(["exec", "-i", file, "--known-hosts", knownHosts, "--json", "--", "true"], home: dir)
            #expect(exec.status != 0)
            #expect(exec.stdout.contains("host-key-changed") && exec.stdout.contains("HOST KEY CHANGED for \(name)"), "\(exec.stdout)")
        }
    }

    @Test("no token or a wrong one: the agent answers 401, podctl says so without printing a token, and pins nothing")
    func tokenIsRequired() throws {
        let agent = try startAgent()
        defer { agent.stop() }
        let dir = try Shell.temporaryDirectory("trust-token")
        let file = try fleetFile(dir, agent, tokenFile: false)
        let knownHosts = "\(dir)/known_hosts"
        let missing = try podctl(["trust", "-i", file, "--known-hosts", knownHosts], home: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("answered 401: no token was sent"), "\(missing.stderr)")
        let wrongFile = "\(dir)/wrong-token"
        try "wrong-token-value\n".write(toFile: wrongFile, atomically: true, encoding: .utf8)
        let wrong = try podctl(["trust", "-i", file, "--known-hosts", knownHosts, "--token-file", wrongFile], home: dir)
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("answered 401: the token was refused"), "\(wrong.stderr)")
        #expect(!(wrong.stdout + wrong.stderr).contains("wrong-token-value"))
        #expect(!FileManager.default.fileExists(atPath: knownHosts))
        // PODCTL_TOKEN works as for infer and compare.
        let fromEnvironment = try podctl(["trust", "-i", file, "--known-hosts", knownHosts], ["PODCTL_TOKEN": agent.token], home: dir)
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        #expect(!(fromEnvironment.stdout + fromEnvironment.stderr).contains(agent.token))
    }

    /// A TLS reverse proxy on loopback (Python's http.server in ssl) in front of the agent: what RunPod's proxy is.
    static let tlsProxy = #"""
        import http.server, ssl, sys, urllib.error, urllib.request
        upstream, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
        class Proxy(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept")}
                try:
                    with urllib.request.urlopen(urllib.request.Request(upstream + self.path, headers=headers), timeout=20) as answer:
                        status, body = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, body = error.code, error.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args): pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        print("proxy listening on https://127.0.0.1:%d" % server.server_address[1], flush=True)
        server.serve_forever()
        """#

    /// A self-signed certificate made by the real `openssl` for `subjectAltName`.
    func certificate(_ dir: String, _ name: String, altName: String) throws -> (cert: String, key: String) {
        let cert = "\(dir)/\(name).pem"
        let key = "\(dir)/\(name)-key.pem"
        let made = try Shell.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                  "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=podagent-test",
                                  "-addext", "subjectAltName=\(altName)"])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        return (cert, key)
    }

    func startProxy(_ dir: String, upstream: String, cert: (cert: String, key: String)) throws -> (pid: pid_t, url: String) {
        let script = "\(dir)/tls_proxy.py"
        try Self.tlsProxy.write(toFile: script, atomically: true, encoding: .utf8)
        let log = "\(dir)/proxy-\(UUID().uuidString.prefix(4)).log"
        let pid = try Shell.spawn(["/usr/bin/python3", script, upstream, cert.cert, cert.key], stdout: log, stderr: log)
        let marker = "listening on https://127.0.0.1:"
        guard let line = Shell.waitForLine(in: log, containing: marker), let range = line.range(of: marker) else {
            Shell.stop(pid)
            throw FixtureError("the TLS proxy did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        return (pid, "https://127.0.0.1:" + line[range.upperBound...].prefix { $0.isNumber })
    }

    @Test("https with a self-signed certificate is refused unless --agent-ca trusts it; a certificate for another name is refused even then; plain http off loopback is refused")
    func httpsIsVerified() throws {
        let agent = try startAgent()
        defer { agent.stop() }
        let dir = try Shell.temporaryDirectory("trust-tls")
        let good = try certificate(dir, "loopback", altName: "IP:127.0.0.1")
        let otherName = try certificate(dir, "other", altName: "DNS:other.invalid")
        let proxy = try startProxy(dir, upstream: agent.baseURL, cert: good)
        defer { Shell.stop(proxy.pid) }
        let misnamed = try startProxy(dir, upstream: agent.baseURL, cert: otherName)
        defer { Shell.stop(misnamed.pid) }
        let knownHosts = "\(dir)/known_hosts"

        let file = try fleetFile(dir, agent, agentURL: proxy.url)
        let untrusted = try podctl(["trust", "-i", file, "--known-hosts", knownHosts], home: dir)
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.contains("certificate") && untrusted.stderr.contains("--agent-ca"), "\(untrusted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: knownHosts))

        let wrongName = try fleetFile(dir, agent, agentURL: misnamed.url, name: "misnamed.yaml")
        let mismatch = try podctl(["trust", "-i", wrongName, "--known-hosts", knownHosts, "--agent-ca", otherName.cert], home: dir)
        #expect(mismatch.status == 1)
        #expect(mismatch.stderr.contains("127.0.0.1"), "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: knownHosts))

        let trusted = try podctl(["trust", "-i", file, "--known-hosts", knownHosts, "--agent-ca", good.cert], home: dir)
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(try pins(knownHosts)["gpu-1"] == (try agent.keyscan()))
        let exec = try podctl(["exec", "-i", file, "--known-hosts", knownHosts, "--", "echo over-tls-pins"], home: dir)
        #expect(exec.status == 0 && exec.stdout == "gpu-1: over-tls-pins\n", "\(exec.stderr)")

        // Refused before any connection is made: http to anything but loopback authenticates nothing.
        let plain = try fleetFile(dir, agent, agentURL: "http://gpu-1.example.invalid:8080", name: "plain.yaml")
        let refused = try podctl(["trust", "-i", plain, "--known-hosts", "\(dir)/kh2"], home: dir)
        #expect(refused.status == 1 && refused.stderr.contains("plain HTTP"), "\(refused.stderr)")
    }

    @Test("discover runpod --trust updates the fleet file, then pins the discovered pods' keys")
    func discoverThenTrust() throws {
        let agent = try startAgent()
        defer { agent.stop() }
        let dir = try Shell.temporaryDirectory("trust-discover")
        // RunPod's API, stood in on loopback: the pod now answers SSH on the agent's sshd port, and exposes no
        // HTTP port, so the entry's own agent_url (the agent on loopback) is kept.
        let api = """
            import http.server, json, sys
            PODS = [{"id": "rp1", "name": "gpu 1", "desiredStatus": "RUNNING", "publicIp": "127.0.0.1",
                     "portMappings": {"22": \(agent.sshPort)}, "ports": ["22/tcp"]}]
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = json.dumps(PODS).encode()
                    ok = self.headers.get("Authorization") == "Bearer test-key" and self.path == "/v1/pods"
                    self.send_response(200 if ok else 401); self.end_headers(); self.wfile.write(body if ok else b"{}")
                def log_message(self, *args): pass
            http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
            """
        try api.write(toFile: "\(dir)/api.py", atomically: true, encoding: .utf8)
        let port = Shell.freePort()
        let server = try Shell.spawn(["/usr/bin/python3", "\(dir)/api.py", String(port)], stderr: "\(dir)/api.log")
        defer { Shell.stop(server) }
        #expect(Shell.waitForPort(port))
        let file = "\(dir)/fleet.yaml"
        try """
            pods:
              - {name: gpu-1, host: 10.255.255.1, port: 1, runpod_id: rp1, identity: \(fleet.clientKey), agent_url: "\(agent.baseURL)", token_file: \(agent.tokenFile)}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let knownHosts = "\(dir)/known_hosts"
        let conflicting = try podctl(["discover", "runpod", "-i", file, "--trust", "--dry-run", "--api-url", "http://127.0.0.1:\(port)/v1"],
                                     ["RUNPOD_API_KEY": "test-key"], home: dir)
        #expect(conflicting.status == 64 || conflicting.status == 2, "\(conflicting.stderr)")
        let discovered = try podctl(["discover", "runpod", "-i", file, "--trust", "--known-hosts", knownHosts,
                                     "--api-url", "http://127.0.0.1:\(port)/v1"], ["RUNPOD_API_KEY": "test-key"], home: dir)
        #expect(discovered.status == 0, "\(discovered.stderr)")
        #expect(discovered.stderr.contains("port 8080 is not exposed as HTTP"), "\(discovered.stderr)")
        #expect(discovered.stdout.contains("gpu-1: pinned"), "\(discovered.stdout)")
        let exec = try podctl(["exec", "-i", file, "--known-hosts", knownHosts, "--", "echo discovered"], home: dir)
        #expect(exec.status == 0 && exec.stdout == "gpu-1: discovered\n", "\(exec.stderr)")
    }
}
