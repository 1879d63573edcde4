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
import ServiceLifecycle
import Synchronization

/// The image's own main command (`podagent run -- CMD ARGS...`), run as a supervised child the way
/// tini runs it: it shares podagent's stdio, gets the signals podagent receives, and its exit
/// code becomes podagent's, unless podagent was asked to keep running without it.
public final class CommandService: Service, Sendable {
    /// The readiness part name.
    public static let part = "command"

    private let supervisor: Supervisor
    private let readiness: ReadinessRegistry
    private let logger: Logger
    private let command: [String]
    private let keepRunning: Bool
    private let grace: Duration
    private let child = Mutex<Child?>(nil)
    private let finished = Mutex<ExitStatus?>(nil)

    /// - Parameters:
    ///   - command: the executable and its arguments.
    ///   - keepRunning: when true, the command's exit does not stop podagent.
    ///   - grace: how long the command gets after SIGTERM on shutdown before SIGKILL.
    ///
    /// Without `keepRunning`, ``run()`` returns when the command exits by itself; the service group
    /// runs it with `successTerminationBehavior: .gracefullyShutdownGroup`, so podagent stops then.
    public init(
        command: [String], keepRunning: Bool, grace: Duration, supervisor: Supervisor, readiness: ReadinessRegistry, logger: Logger
    ) {
        self.supervisor = supervisor
        self.readiness = readiness
        self.logger = logger
        self.command = command
        self.keepRunning = keepRunning
        self.grace = grace
    }

    /// How the command ended, once it did.
    public var exitStatus: ExitStatus? { finished.withLock { $0 } }

    /// Passes a signal podagent received on to the command's process group.
    public func forward(_ signal: Int32) {
        child.withLock { $0 }?.signalGroup(signal)
    }

    public func run() async throws {
        guard let executable = command.first else { return }
        let spec = ProcessSpec(
            executable: executable, arguments: Array(command.dropFirst()),
            stdin: .inherit, stdout: .inherit, stderr: .inherit, newProcessGroup: true)
        let started: Child
        do {
            started = try supervisor.spawn(spec)
        } catch {
            logger.error("cannot start the command: \(error.message)")
            let status = ExitStatus.exited(127)
            finished.withLock { $0 = status }
            readiness.update(Self.part, PartStatus(ready: keepRunning, state: "failed", reason: error.message))
            if stopsPodagent(after: status) { return }
            try? await gracefulShutdown()
            return
        }
        child.withLock { $0 = started }
        logger.info("started the command", metadata: ["pid": "\(started.pid)", "command": "\(command.joined(separator: " "))"])
        readiness.update(Self.part, PartStatus(ready: true, state: "running", details: ["pid": String(started.pid)]))

        let status = await withGracefulShutdownHandler {
            await started.wait()
        } onGracefulShutdown: {
            self.markShuttingDown()
            // Stopping in order: the command goes first, the group gets SIGTERM then SIGKILL.
            Task { await started.terminate(grace: self.grace) }
        }
        // Descendants it left in its group go with it.
        started.signalGroup(SIGKILL)
        finished.withLock { $0 = status }
        let shuttingDown = isShuttingDown
        logger.notice("the command \(status)", metadata: ["pid": "\(started.pid)"])
        readiness.update(Self.part, PartStatus(
            ready: keepRunning || shuttingDown, state: "exited", reason: "the command \(status)",
            details: ["exit_code": String(status.shellCode)]))
        // Returning shuts the group down gracefully (see init).
        if !shuttingDown, stopsPodagent(after: status) { return }
        // Stay in the group until podagent stops, so shutdown order is unchanged.
        try? await gracefulShutdown()
    }

    /// Says what the command's own exit means; true when podagent stops with its exit code.
    private func stopsPodagent(after status: ExitStatus) -> Bool {
        if keepRunning {
            logger.notice("the command \(status); podagent keeps running (--keep-running)")
            return false
        }
        logger.notice("the command \(status); podagent stops with its exit code \(status.shellCode)")
        return true
    }

    private var isShuttingDown: Bool { shutdownFlag.withLock { $0 } }
    private let shutdownFlag = Mutex(false)

    /// Marks that podagent is stopping, so the command's exit is not taken for its own.
    public func markShuttingDown() { shutdownFlag.withLock { $0 = true } }
}
