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
import Synchronization

/// A running (or finished) child process started by the ``Supervisor``.
///
/// Its exit is delivered by the supervisor's reaper; nothing else waits for it.
public final class Child: Sendable {
    public let pid: pid_t
    /// The process group: the child's own pid when it was started in a new group.
    public let processGroup: pid_t?
    /// podagent's ends of the child's pipes, when the spec asked for them.
    public let stdin: DescriptorHandle?
    public let stdout: DescriptorHandle?
    public let stderr: DescriptorHandle?

    private struct State {
        var status: ExitStatus?
        var waiters: [CheckedContinuation<ExitStatus, Never>] = []
    }
    private let state = Mutex(State())

    init(pid: pid_t, processGroup: pid_t?, stdin: DescriptorHandle?, stdout: DescriptorHandle?, stderr: DescriptorHandle?) {
        self.pid = pid
        self.processGroup = processGroup
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
    }

    /// The exit status once reaped, else nil.
    public var exitStatus: ExitStatus? { state.withLock { $0.status } }

    /// Waits until the supervisor reaps the child.
    public func wait() async -> ExitStatus {
        await withCheckedContinuation { continuation in
            let done: ExitStatus? = state.withLock { state in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Called by the reaper, once.
    func didExit(_ status: ExitStatus) {
        let waiters = state.withLock { state -> [CheckedContinuation<ExitStatus, Never>] in
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    /// Sends `signal` to the child alone. A child already reaped is left alone (its pid may be reused).
    public func signal(_ signal: Int32) {
        guard exitStatus == nil else { return }
        kill(pid, signal)
    }

    /// Sends `signal` to the child's whole process group (or to the child when it has none).
    ///
    /// Works after the leader exited too: descendants left in the group still get it.
    public func signalGroup(_ signal: Int32) {
        if let processGroup {
            kill(-processGroup, signal)
        } else {
            self.signal(signal)
        }
    }

    /// SIGTERM to the group, then SIGKILL after `grace`; returns how the child ended.
    @discardableResult
    public func terminate(grace: Duration) async -> ExitStatus {
        if let status = exitStatus {
            signalGroup(SIGKILL)  // descendants that outlived the leader
            return status
        }
        signalGroup(SIGTERM)
        let status = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Woken early too when the caller is cancelled (a shutdown past its deadline):
                // SIGKILL then, or a child that ignores SIGTERM would be waited for forever.
                try? await Task.sleep(for: grace)
                if self.exitStatus == nil { self.signalGroup(SIGKILL) }
            }
            let status = await self.wait()
            group.cancelAll()
            return status
        }
        signalGroup(SIGKILL)  // whatever the leader left behind in its group
        return status
    }
}
