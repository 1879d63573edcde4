import Foundation

/// A real `podagent run` serving the Demo plugin over HTTP on an ephemeral loopback port (sshd off).
public final class DemoPodagent: Sendable {
    public let pid: pid_t
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// - Parameters:
    ///   - token: the API token; nil serves without one (podagent then binds 127.0.0.1 only).
    ///   - tokenInFile: hand the token over as a file (`PODAGENT_TOKEN_FILE`, 0600) instead of `PODAGENT_TOKEN`.
    public init(dir: String, name: String = "agent", token: String?, tokenInFile: Bool = false) throws {
        // Workers run as nobody under a root podagent: the system's Python, not a root-only one first on PATH.
        var environment = Shell.environment(["PODAGENT_SSH": "off", "PODAGENT_MODELS": "Demo", "PODAGENT_INFERENCE_PYTHON": "/usr/bin/python3"])
        if let token, tokenInFile {
            let file = "\(dir)/token-\(name)"
            try token.write(toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o600)
            environment["PODAGENT_TOKEN_FILE"] = file
        } else if let token {
            environment["PODAGENT_TOKEN"] = token
        }
        let log = "\(dir)/agent-\(name).log"
        pid = try Shell.spawn([Shell.binary("podagent"), "run", "--http-host", "127.0.0.1", "--http-port", "0",
                               "--state-dir", "\(dir)/state-\(name)", "--plugins-dir", Shell.repoRoot.appendingPathComponent("Plugins").path],
                              environment: environment, stdout: log, stderr: log)
        port = try Shell.announcedPort(of: pid, in: log, what: "podagent")
    }

    public func stop() { Shell.stop(pid) }
}

/// The Python stand-in of the agent's HTTP API (Tests/CompareTests/Support/standin_agent.py), for agents
/// that must be busy, failing or slow on cue; `config` says what it serves.
public final class StandInAgent: Sendable {
    public let pid: pid_t
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(dir: String, config: [String: Any]) throws {
        let configPath = "\(dir)/standin-\(UUID().uuidString.prefix(6)).json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let script = Shell.repoRoot.appendingPathComponent("Tests/CompareTests/Support/standin_agent.py").path
        let log = configPath + ".log"
        pid = try Shell.spawn(["/usr/bin/python3", script, configPath], stdout: log, stderr: log)
        port = try Shell.announcedPort(of: pid, in: log, what: "the stand-in agent")
    }

    public func stop() { Shell.stop(pid) }
}

extension Shell {
    /// The port from the child's "listening on http://127.0.0.1:PORT" line in `log`; stops the child and
    /// throws, with the log's end, when no such line comes within `timeout` seconds.
    public static func announcedPort(of pid: pid_t, in log: String, what: String, timeout: Double = 60) throws -> Int {
        let marker = "listening on http://127.0.0.1:"
        if let line = waitForLine(in: log, containing: marker, timeout: timeout), let range = line.range(of: marker),
           let port = Int(line[range.upperBound...].prefix { $0.isNumber }) {
            return port
        }
        stop(pid)
        throw FixtureError("\(what) did not start: \((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(1500) ?? "")")
    }
}
