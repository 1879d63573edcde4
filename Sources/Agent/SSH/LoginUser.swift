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

/// The optional non-root login user: created when missing, with a home directory, an unusable
/// password hash (never a default password, and not a locked account: OpenSSH without PAM refuses
/// those) and, only when asked, passwordless sudo.
struct LoginUser: Sendable {
    struct Account: Sendable, Equatable {
        var name: String
        var uid: uid_t
        var gid: gid_t
        var home: String
    }

    let name: String
    let uid: Int
    let sudo: Bool
    let sudoersDir: String
    let runner: CommandRunner

    static func lookup(_ name: String) -> Account? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, let found = result else { return nil }
        return Account(name: name, uid: found.pointee.pw_uid, gid: found.pointee.pw_gid, home: String(cString: found.pointee.pw_dir))
    }

    /// Creates the user when missing and applies the sudo setting; returns the account and what was done.
    func ensure() async throws(AgentError) -> (account: Account, created: Bool) {
        var created = false
        if Self.lookup(name) == nil {
            var attempt = try await run("useradd", ["-m", "-s", "/bin/bash", "-u", String(uid), "-U", name])
            if !attempt.status.succeeded, Self.lookup(name) == nil {
                // The UID is taken: let useradd choose one.
                attempt = try await run("useradd", ["-m", "-s", "/bin/bash", "-U", name])
            }
            guard attempt.status.succeeded || Self.lookup(name) != nil else {
                throw AgentError(.system, "cannot create user \(name): \(attempt.stderr.trimmingSpace())")
            }
            // "*" matches no password, so nobody can log in with one, yet the account is not locked.
            let password = try await run("usermod", ["-p", "*", name])
            guard password.status.succeeded else {
                throw AgentError(.system, "cannot set an unusable password for \(name): \(password.stderr.trimmingSpace())")
            }
            created = true
        }
        guard let account = Self.lookup(name) else { throw AgentError(.system, "user \(name) was created but cannot be found") }
        try applySudo()
        return (account, created)
    }

    /// Whether the account's password field is locked ("!..."), from /etc/shadow (or `shadowFile`).
    static func isLocked(_ name: String, shadowFile: String = "/etc/shadow") -> Bool {
        guard let text = try? String(contentsOfFile: shadowFile, encoding: .utf8) else { return false }
        for line in text.split(separator: "\n") where line.hasPrefix("\(name):") {
            return line.split(separator: ":", omittingEmptySubsequences: false).dropFirst().first?.hasPrefix("!") == true
        }
        return false
    }

    /// Writes or removes podagent's sudoers file for the user.
    private func applySudo() throws(AgentError) {
        let path = "\(sudoersDir)/podagent-\(name)"
        guard sudo else {
            if unlink(path) != 0, errno != ENOENT {
                throw AgentError(.system, "\(path): cannot remove: \(String(cString: strerror(errno)))")
            }
            return
        }
        try AgentError.writing(AtomicFile.ensureDirectory(sudoersDir, mode: 0o750))
        try AgentError.writing(AtomicFile.write("# Written by podagent because ssh.user_sudo is true.\n\(name) ALL=(ALL) NOPASSWD:ALL\n", to: path, mode: 0o440, owner: (0, 0)))
    }

    private func run(_ tool: String, _ arguments: [String]) async throws(AgentError) -> CommandRunner.Output {
        let candidates: [String] = ["/usr/sbin/\(tool)", "/sbin/\(tool)", "/usr/bin/\(tool)"]
        let path = candidates.first { access($0, X_OK) == 0 } ?? tool
        return try await runner.run(ProcessSpec(executable: path, arguments: arguments), timeout: .seconds(30))
    }
}
