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

/// The pod's environment as SSH sessions should see it (CUDA paths, PYTHONPATH, RUNPOD_*), minus
/// secrets and the variables that belong to each session.
///
/// OpenSSH 7.6 (the model images) has no server-side SetEnv, so the variables go into a file of
/// `export` lines that login shells (`/etc/profile.d`) and, through one marked line, bash rc files source.
struct PodEnvironment: Sendable {
    /// Marks the one line podagent owns in a bash rc file.
    static let hookMarker = "# podagent: pod environment for SSH sessions"

    /// Never written: the keys themselves, and what each session sets for itself.
    static let alwaysHidden: Set<String> = [
        "PUBLIC_KEY", "SSH_PUBLIC_KEY", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "SHLVL", "_", "TERM",
        "MAIL", "HOSTNAME", "INVOCATION_ID", "JOURNAL_STREAM", "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
    ]
    /// podagent's settings a session's `podagent health` (and so `podctl health`) needs to reach the agent
    /// as it is configured: its port, and where its token file is. A path, not the token: the file's own
    /// permissions decide who may read it. `PODAGENT_TOKEN` itself stays out.
    static let sharedWithSessions: Set<String> = ["PODAGENT_HTTP_PORT", "PODAGENT_TOKEN_FILE"]
    /// Name fragments that mark a secret.
    static let secretFragments = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "PRIVATE_KEY", "CREDENTIAL"]

    let variables: [(name: String, value: String)]

    /// Filters `environment`: drops secrets, session variables, podagent's own settings (but
    /// ``sharedWithSessions``), names in `hide`
    /// (a trailing `*` matches a prefix) and names a shell cannot export.
    init(environment: [String: String], hide: [String]) {
        variables = environment.sorted { $0.key < $1.key }.filter { name, _ in
            Self.keeps(name, hide: hide)
        }.map { ($0.key, $0.value) }
    }

    static func keeps(_ name: String, hide: [String]) -> Bool {
        // [A-Za-z_][A-Za-z0-9_]*: a name a shell can export.
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic),
              name.unicodeScalars.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) })
        else { return false }
        let shared = sharedWithSessions.contains(name)
        if alwaysHidden.contains(name) || name.hasPrefix("SSH_") || (name.hasPrefix("PODAGENT_") && !shared) { return false }
        let upper = name.uppercased()
        if !shared, secretFragments.contains(where: { upper.contains($0) }) { return false }
        for pattern in hide {
            if pattern.hasSuffix("*") ? name.hasPrefix(String(pattern.dropLast())) : name == pattern { return false }
        }
        return true
    }

    /// The file's text: one `export NAME='value'` line per variable, quoted for sh.
    func render() -> String {
        var text = "# Written by podagent at every start: the pod's environment for SSH sessions. Edits here are lost.\n"
        for (name, value) in variables {
            text += "export \(name)='\(value.replacingLiteral("'", with: "'\\''"))'\n"
        }
        return text
    }

    /// Rewrites the environment file atomically (never appends).
    func write(to path: String) throws(AgentError) {
        try AgentError.writing(AtomicFile.ensureDirectory(PathNames.deletingLastComponent(path), mode: 0o755))
        try AgentError.writing(AtomicFile.write(render(), to: path, mode: 0o644))
    }

    /// The line a bash rc file gets: silent, so scp and sftp keep working.
    static func hookLine(envFile: String) -> String {
        "[ -r \(envFile) ] && . \(envFile) \(hookMarker)"
    }

    /// Puts the hook first in `rcFile`: Debian's /etc/bash.bashrc and ~/.bashrc return early for
    /// non-interactive shells (`ssh host cmd`), so a line after that would never run.
    /// Idempotent: any older podagent line is removed; the file keeps its owner and mode.
    static func installHook(in rcFile: String, envFile: String) throws(AgentError) {
        var existing = ""
        var mode: mode_t = 0o644
        var info = stat()
        if stat(rcFile, &info) == 0 {
            mode = info.st_mode & 0o7777
            do {
                existing = try String(contentsOfFile: rcFile, encoding: .utf8)
            } catch {
                throw AgentError(.system, "\(rcFile): cannot read: \(errorText(error))")
            }
        } else {
            try AgentError.writing(AtomicFile.ensureDirectory(PathNames.deletingLastComponent(rcFile), mode: 0o755))
        }
        let line = hookLine(envFile: envFile)
        let others = existing.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains(hookMarker) }
        let updated = ([line] + others.map(String.init)).joined(separator: "\n") + (existing.isEmpty ? "\n" : "")
        if updated == existing { return }
        try AgentError.writing(AtomicFile.write(updated, to: rcFile, mode: mode))
    }
}
