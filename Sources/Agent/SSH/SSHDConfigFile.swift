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

/// podagent's own sshd_config: hardened defaults, the extra `ssh.options`, validated with `sshd -t`
/// before it replaces the file the running sshd uses.
struct SSHDConfigFile: Sendable {
    let settings: AgentConfig.SSH
    let hostKeys: [String]
    let pidFile: String

    /// Keywords podagent must decide itself: a security default, or a path it manages.
    static let protectedKeywords: Set<String> = [
        "passwordauthentication", "kbdinteractiveauthentication", "challengeresponseauthentication",
        "permitemptypasswords", "pidfile", "port", "hostkey", "authorizedkeysfile", "usepam",
    ]

    /// The defaults, in order; an `ssh.options` line with the same keyword replaces its default.
    var defaults: [(keyword: String, value: String)] {
        var lines: [(String, String)] = [("Port", String(settings.port))]
        for key in hostKeys { lines.append(("HostKey", key)) }
        lines += [
            ("PidFile", pidFile),
            ("AuthorizedKeysFile", ".ssh/authorized_keys \(settings.authorizedKeysDir)/%u"),
            ("PubkeyAuthentication", "yes"),
            ("PasswordAuthentication", "no"),
            ("KbdInteractiveAuthentication", "no"),
            ("PermitEmptyPasswords", "no"),
            // Without PAM an account with a locked password cannot log in: ssh.user gets "*" instead.
            ("UsePAM", "no"),
            ("PermitRootLogin", "prohibit-password"),
            // VS Code Remote-SSH tunnels through it.
            ("AllowTcpForwarding", "yes"),
            ("X11Forwarding", "no"),
            ("Subsystem", "sftp internal-sftp"),
            ("ClientAliveInterval", "30"),
            ("ClientAliveCountMax", "4"),
            ("AcceptEnv", "LANG LC_*"),
            ("PrintMotd", "no"),
            ("UseDNS", "no"),
        ]
        return lines
    }

    /// The file's text.
    /// - Throws: ``AgentError`` `.invalidConfig` for an option podagent must keep for itself or a malformed line.
    func render() throws(AgentError) -> String {
        var extra: [(keyword: String, line: String)] = []
        for (index, raw) in settings.options.enumerated() {
            let line = raw.trimmingSpace(newlines: false)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard !line.contains("\n") else {
                throw AgentError(.invalidConfig, "ssh.options[\(index)]: one sshd_config line per entry")
            }
            let keyword = String(line.prefix { !$0.isWhitespace && $0 != "=" })
            if Self.protectedKeywords.contains(keyword.lowercased()) {
                throw AgentError(.invalidConfig, "ssh.options[\(index)]: '\(keyword)' is managed by podagent and cannot be changed there")
            }
            extra.append((keyword.lowercased(), line))
        }
        // sshd keeps the first value of most keywords, and Match blocks must come last: the
        // plain extra lines go first in place of the defaults they name, Match blocks at the end.
        let matchIndex = extra.firstIndex { $0.keyword == "match" } ?? extra.count
        let plain = extra[..<matchIndex]
        let overridden = Set(plain.map(\.keyword))
        var text = "# Written by podagent at every start from its configuration; edits here are lost.\n"
        for (keyword, value) in defaults where !overridden.contains(keyword.lowercased()) || keyword == "HostKey" {
            text += "\(keyword) \(value)\n"
        }
        if !extra.isEmpty { text += "# ssh.options\n" }
        for entry in plain { text += entry.line + "\n" }
        for entry in extra[matchIndex...] { text += entry.line + "\n" }
        return text
    }

    /// Writes the config to `<path>.new`, has sshd check it, and only then renames it over `path`.
    /// - Throws: ``AgentError`` `.invalidConfig` with sshd's own message when it refuses the file;
    ///   the previous file (the one a running sshd uses) is left as it was.
    func install(at path: String, sshd: String, runner: CommandRunner) async throws(AgentError) {
        let text = try render()
        let candidate = path + ".new"
        try AgentError.writing(AtomicFile.write(text, to: candidate, mode: 0o600))
        let output: CommandRunner.Output
        do {
            output = try await runner.run(ProcessSpec(executable: sshd, arguments: ["-t", "-f", candidate]), timeout: .seconds(30))
        } catch {
            unlink(candidate)
            throw error
        }
        guard output.status.succeeded else {
            unlink(candidate)
            let message = (output.stderr + output.stdout).trimmingSpace()
                .replacingLiteral(candidate, with: "sshd_config")
            throw AgentError(.invalidConfig, "sshd -t refused the configuration: \(message.isEmpty ? String(describing: output.status) : message)")
        }
        guard rename(candidate, path) == 0 else {
            unlink(candidate)
            throw AgentError(.system, "\(path): cannot install the checked config: \(String(cString: strerror(errno)))")
        }
    }
}
