import Foundation

/// A real `podagent run` managing a real OpenSSH sshd on ephemeral loopback ports, with an API token:
/// what a pod looks like to podctl (SSH on one port, the agent's HTTP API on another). Needs root.
///
/// Its files live under `/var/lib/podagent-tests/` (root-owned, not world-writable), because sshd's
/// StrictModes refuses authorized keys below a world-writable `/tmp`.
public final class SSHDPodagent: Sendable {
    public let pid: pid_t
    public let dir: String
    public let sshPort: Int
    public let httpPort: Int
    public let token: String
    /// A file holding ``token`` (0600), for `token_file` in a fleet file.
    public let tokenFile: String
    public var baseURL: String { "http://127.0.0.1:\(httpPort)" }

    /// Where the agent reads its API token from.
    public enum TokenSource: Sendable {
        /// `PODAGENT_TOKEN` in its environment.
        case environment
        /// `api.token_file` in its YAML config (a real pod's `/etc/podagent/podagent.yaml`).
        case configFile
        /// `PODAGENT_TOKEN_FILE` in its environment (a Kubernetes secret mounted as a file).
        case fileVariable
    }

    /// - Parameter authorizedKey: a public key line sshd accepts for root.
    public init(authorizedKey: String, name: String = "pod", token source: TokenSource = .environment) throws {
        guard getuid() == 0 else { throw FixtureError("a managed sshd needs root") }
        let base = "/var/lib/podagent-tests"
        dir = "\(base)/\(name)-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(base, 0o755)
        chmod(dir, 0o755)
        token = "tok-\(UUID().uuidString)"
        tokenFile = "\(dir)/token"
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        chmod(tokenFile, 0o600)
        // A port picked free can be taken by another process before sshd binds it: then podagent logs
        // "Address already in use", and the agent is started again on another port.
        var attempt = 0
        while true {
            attempt += 1
            let port = Shell.freePort()
            let config = """
                state_dir: \(dir)/state
                http: {host: 127.0.0.1, port: 0}
                shutdown_timeout: 3
                ssh:
                  enabled: "on"
                  port: \(port)
                  authorized_keys_dir: \(dir)/keys
                  env_file: \(dir)/env/podagent-env.sh
                  bashrc_files: ["\(dir)/bash.bashrc"]
                  sudoers_dir: \(dir)/sudoers
                """ + (source == .configFile ? "\napi: {token_file: \(tokenFile)}\n" : "")
            try config.write(toFile: "\(dir)/podagent.yaml", atomically: true, encoding: .utf8)
            let log = "\(dir)/podagent-\(attempt).log"
            let environment = Shell.environment(["PUBLIC_KEY": authorizedKey].merging(
                source == .environment ? ["PODAGENT_TOKEN": token] : source == .fileVariable ? ["PODAGENT_TOKEN_FILE": tokenFile] : [:]) { $1 })
            let child = try Shell.spawn([Shell.binary("podagent"), "run", "--config", "\(dir)/podagent.yaml",
                                         "--plugins-dir", Shell.repoRoot.appendingPathComponent("Plugins").path],
                                        environment: environment, stdout: log, stderr: log)
            let http = try Shell.announcedPort(of: child, in: log, what: "podagent with sshd")
            if Shell.waitForLine(from: child, in: log, containing: "Server listening on 0.0.0.0 port \(port).") {
                (pid, sshPort, httpPort) = (child, port, http)
                return
            }
            Shell.stop(child)
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard attempt < 4, text.contains("Address already in use") else {
                throw FixtureError("podagent's sshd did not listen on \(port): \(text.suffix(1500))")
            }
        }
    }

    /// The host keys sshd really serves, as `ssh-keyscan` sees them: `TYPE BASE64` lines, sorted.
    public func keyscan() throws -> [String] {
        let result = try Shell.run(["/usr/bin/ssh-keyscan", "-p", String(sshPort), "-t", "rsa,ecdsa,ed25519", "127.0.0.1"], timeout: 30)
        let keys = result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: " ").dropFirst().prefix(2).joined(separator: " ") }
        guard !keys.isEmpty else { throw FixtureError("ssh-keyscan found no key: \(result.stderr)") }
        return keys.sorted()
    }

    /// The rc file podagent hooked (the pod's `/etc/bash.bashrc`): sourcing it gives a command the
    /// environment an SSH session on a real pod gets.
    public var bashrc: String { "\(dir)/bash.bashrc" }
    /// The YAML config podagent reads (a real pod's `/etc/podagent/podagent.yaml`).
    public var configFile: String { "\(dir)/podagent.yaml" }

    /// Stops podagent (and with it sshd) and removes its files.
    public func stop() {
        Shell.stop(pid)
        try? FileManager.default.removeItem(atPath: dir)
    }
}
