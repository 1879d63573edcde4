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
import Logging
import PodAgentExtras

/// Everything sshd needs before it starts: host keys, authorized keys, the login user, the pod
/// environment for sessions, the privilege separation directory and a checked sshd_config.
struct SSHDSetup: Sendable {
    /// What a successful preparation produced; shown in /health.
    struct Prepared: Sendable {
        var configPath: String
        var hostKeys: [HostKeys.Key]
        var keyCount: Int
        var keyProblems: [AuthorizedKeys.Problem]
        var user: LoginUser.Account?
    }

    let settings: AgentConfig.SSH
    let stateDir: String
    let environment: [String: String]
    let runner: CommandRunner
    let logger: Logger

    var sshDir: String { stateDir + "/ssh" }
    var configPath: String { sshDir + "/sshd_config" }
    var pidFile: String { sshDir + "/sshd.pid" }

    /// Runs every step; the config file the running sshd uses is replaced only once sshd -t accepted the new one.
    /// - Throws: ``AgentError`` naming the step that failed.
    func prepare() async throws(AgentError) -> Prepared {
        guard access(settings.sshdPath, X_OK) == 0 else {
            throw AgentError(.unavailable, "\(settings.sshdPath) not found: install openssh-server or set ssh.enabled: false")
        }
        // sshd refuses to start without it, and it must be root-owned and not writable by others.
        try AgentError.writing(AtomicFile.ensureDirectory(settings.runDir, mode: 0o755))
        guard chown(settings.runDir, 0, 0) == 0 else {
            throw AgentError(.system, "\(settings.runDir): cannot make it root-owned (sshd requires it): \(String(cString: strerror(errno)))")
        }

        var types = ["ed25519", "ecdsa"]
        if settings.rsa { types.append("rsa") }
        let hostKeys = HostKeys(directory: sshDir, keygen: settings.keygenPath, runner: runner)
        let (keys, generated) = try await hostKeys.ensure(types: types)
        for type in generated { logger.notice("generated a new \(type) host key", metadata: ["dir": "\(sshDir)"]) }
        for key in keys { logger.info("sshd host key \(key.type) \(key.fingerprint)") }

        let authorized = AuthorizedKeys(environment: environment, configured: settings.authorizedKeys)
        for problem in authorized.problems { logger.warning("skipped an authorized key: \(problem)") }
        if authorized.keys.isEmpty {
            logger.warning("no SSH public key installed: set PUBLIC_KEY (or SSH_PUBLIC_KEY, or ssh.authorized_keys) to log in")
        }

        var account: LoginUser.Account?
        if let name = settings.user {
            let user = LoginUser(name: name, uid: settings.userUID, sudo: settings.userSudo, sudoersDir: settings.sudoersDir, runner: runner)
            let (found, created) = try await user.ensure()
            if created { logger.notice("created login user \(name)", metadata: ["uid": "\(found.uid)", "home": "\(found.home)"]) }
            if !created, LoginUser.isLocked(name) {
                // podagent leaves existing accounts as they are; without PAM sshd refuses locked ones.
                logger.warning("user \(name) has a locked password: sshd refuses key logins for it; `usermod -p '*' \(name)` unlocks it without a password")
            }
            account = found
        }
        try writeAuthorizedKeys(authorized, user: account)

        let pod = PodEnvironment(environment: environment, hide: settings.hideEnv)
        try pod.write(to: settings.envFile)
        for rcFile in settings.bashrcFiles {
            try PodEnvironment.installHook(in: rcFile, envFile: settings.envFile)
        }

        let file = SSHDConfigFile(settings: settings, hostKeys: keys.map(\.path), pidFile: pidFile)
        try await file.install(at: configPath, sshd: settings.sshdPath, runner: runner)
        return Prepared(configPath: configPath, hostKeys: keys, keyCount: authorized.keys.count, keyProblems: authorized.problems, user: account)
    }

    /// One root-owned, world-readable file per login user in the agent-owned directory that
    /// `AuthorizedKeysFile` names; users other than root and ssh.user get none.
    private func writeAuthorizedKeys(_ keys: AuthorizedKeys, user: LoginUser.Account?) throws(AgentError) {
        // sshd's StrictModes wants every directory up to / owned by root and not group/world-writable.
        try AgentError.writing(AtomicFile.ensureDirectory(settings.authorizedKeysDir, mode: 0o755))
        let text = keys.render()
        try AgentError.writing(AtomicFile.write(text, to: "\(settings.authorizedKeysDir)/root", mode: 0o644, owner: (0, 0)))
        if let user {
            try AgentError.writing(AtomicFile.write(text, to: "\(settings.authorizedKeysDir)/\(user.name)", mode: 0o644, owner: (0, 0)))
        }
    }
}
