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
import Synchronization

/// Which user model workers run as (docs/inference.md, "The workers' user").
///
/// Model code never runs as root unless asked for by name: when podagent runs as root (it must, for
/// sshd), each worker is started as `inference.user`, else the SSH login user (`ssh.user`,
/// `runpod` in the images) once that account exists, else `nobody`. `inference.user: root` keeps
/// root, with a warning. When podagent is not root it cannot switch, and workers run as podagent's user.
public final class WorkerUser: Sendable {
    /// `inference.user`.
    public let configured: String?
    /// `ssh.user`.
    public let sshUser: String?
    /// Whether podagent runs as root (only root can switch users).
    public let podagentIsRoot: Bool
    private let logger: Logger
    private let announced = Mutex<String?>(nil)

    public init(configured: String?, sshUser: String?, podagentIsRoot: Bool = geteuid() == 0, logger: Logger) {
        self.configured = configured
        self.sshUser = sshUser
        self.podagentIsRoot = podagentIsRoot
        self.logger = logger
        if podagentIsRoot, let configured, ProcessIdentity.lookup(configured)?.uid == 0 {
            logger.warning("model workers run as root: inference.user is '\(configured)'; model code then has every right podagent has (docs/inference.md)")
        } else if !podagentIsRoot, let configured, let wanted = ProcessIdentity.lookup(configured), wanted.uid != geteuid() {
            logger.warning("inference.user '\(configured)' is ignored: podagent is not root, so workers run as podagent's own user (uid \(geteuid()))")
        }
    }

    /// Whether workers run as another user than podagent (then what they read and write must be theirs).
    public var switchesUser: Bool {
        guard podagentIsRoot else { return false }
        guard let configured else { return true }
        return ProcessIdentity.lookup(configured)?.uid != 0
    }

    /// The identity to start the next worker with; nil keeps podagent's own (podagent not root, or root asked for).
    /// - Throws: ``AgentError`` `.invalidConfig` when `inference.user` names no account, or no
    ///   unprivileged account exists at all.
    public func identity() throws(AgentError) -> ProcessIdentity? {
        guard podagentIsRoot else { return nil }
        let chosen: ProcessIdentity
        let why: String
        if let configured {
            guard let found = ProcessIdentity.lookup(configured) else {
                throw AgentError(.invalidConfig, "inference.user '\(configured)': no such user; model workers are never started as root unless inference.user says root")
            }
            if found.uid == 0 { return nil }
            (chosen, why) = (found, "inference.user")
        } else if let sshUser, let found = ProcessIdentity.lookup(sshUser), found.uid != 0 {
            (chosen, why) = (found, "the SSH login user (ssh.user)")
        } else if let found = ProcessIdentity.lookup("nobody") {
            (chosen, why) = (found, sshUser.map { "ssh.user '\($0)' does not exist (yet)" } ?? "no inference.user or ssh.user is set")
        } else {
            throw AgentError(.invalidConfig, "no unprivileged account to run model workers as: there is no 'nobody' account; set inference.user")
        }
        let line = "model workers run as \(chosen): \(why)"
        let isNew = announced.withLock { last -> Bool in
            defer { last = line }
            return last != line
        }
        if isNew { logger.info("\(line)") }
        return chosen
    }
}
