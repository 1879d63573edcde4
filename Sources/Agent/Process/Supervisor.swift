import CShims
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
import PodAgentExtras

/// The one owner of child processes: it spawns them, reaps them, and hands each exit to its ``Child``.
///
/// A child is registered under the same lock the reaper takes before `waitpid`, so an exit that
/// happens right after the fork is never lost. In ``Reaping/allChildren`` mode (podagent as
/// PID 1 or child subreaper) it also reaps orphans it never started, so no zombie accumulates.
public final class Supervisor: Sendable {
    /// Which exits the reaper collects.
    public enum Reaping: Sendable {
        /// Every child of the process, known or orphaned: for podagent as PID 1 or subreaper.
        /// Needs SIGCHLD blocked in every thread (see ``SignalMask``).
        case allChildren
        /// Only the children this supervisor started: for libraries and tests sharing a process
        /// with other code that waits for its own children.
        case registeredOnly
    }

    private struct State {
        var children: [pid_t: Child] = [:]
        var orphansReaped = 0
        var running = false
    }

    private let state = Mutex(State())
    private let reaping: Reaping
    private let logger: Logger
    private let received: AsyncStream<Int32>.Continuation

    /// SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 as the reaper thread takes them, in
    /// order (only in ``Reaping/allChildren`` mode, where ``SignalMask/blockForSupervisor()``
    /// blocked them). One consumer: the runtime's ``SignalService``. Signals that arrive before it
    /// iterates are kept, so a SIGTERM during start-up is not lost.
    public let signals: AsyncStream<Int32>

    /// - Parameter reaping: which exits to collect.
    public init(reaping: Reaping, logger: Logger) {
        self.reaping = reaping
        self.logger = logger
        (signals, received) = AsyncStream.makeStream(of: Int32.self)
    }

    /// A started supervisor for a one-off command (`validate`, `parse --pickle`, `diagnose`, `gpu`,
    /// `compare`...): it reaps only the children it starts and takes no signals.
    public static func forCommand(_ name: String) -> Supervisor {
        let supervisor = Supervisor(reaping: .registeredOnly, logger: Logger(label: "podagent.\(name)"))
        supervisor.start()
        return supervisor
    }

    /// Starts the reaper thread. Idempotent.
    public func start() {
        let first = state.withLock { state -> Bool in
            defer { state.running = true }
            return !state.running
        }
        guard first else { return }
        NativeThread.start(name: "podagent-reaper") { [self] in self.reaperLoop() }
    }

    /// Orphans reaped so far (processes this supervisor did not start).
    public var orphansReaped: Int { state.withLock { $0.orphansReaped } }

    /// Children alive now.
    public var liveChildren: [Child] { state.withLock { Array($0.children.values) } }

    /// Starts `spec` and registers it before any exit can be reaped. The child dies with podagent
    /// (parent-death signal), so it is forked on the one ``SpawnThread`` that lives as long as podagent.
    public func spawn(_ spec: ProcessSpec) throws(AgentError) -> Child {
        start()
        let result: Result<Child, AgentError> = SpawnThread.shared.runBlocking { [self] in
            do throws(AgentError) { return .success(try spawnOnThisThread(spec)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private func spawnOnThisThread(_ spec: ProcessSpec) throws(AgentError) -> Child {
        let path = try spec.resolvedExecutable()
        var pipes: [(parent: Int32, child: Int32)?] = [nil, nil, nil]
        defer {
            // The child's ends belong to the child now; close ours whatever happened.
            for case let pipe? in pipes { close(pipe.child) }
        }
        for (index, stream) in [spec.stdin, spec.stdout, spec.stderr].enumerated() where stream == .pipe {
            var fds: [Int32] = [-1, -1]
            let rc = fds.withUnsafeMutableBufferPointer { pa_pipe_cloexec($0.baseAddress) }
            if rc != 0 {
                for case let pipe? in pipes { close(pipe.parent) }
                throw AgentError(.spawnFailed, "\(spec.executable): pipe: \(String(cString: strerror(rc)))")
            }
            pipes[index] = index == 0 ? (parent: fds[1], child: fds[0]) : (parent: fds[0], child: fds[1])
        }
        let childFDs: [Int32] = [spec.stdin, spec.stdout, spec.stderr].enumerated().map { index, stream in
            switch stream {
            case .null: -1
            case .inherit: Int32(index)
            case .pipe: pipes[index]?.child ?? -1
            }
        }
        let argv = [path] + spec.arguments
        let env = (spec.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }

        let result: Result<Child, AgentError> = state.withLock { state in
            var pid: pid_t = 0
            var rc: Int32 = 0
            // ETXTBSY: a script written a moment ago may still be open for writing in a process that
            // another thread is spawning (between its fork and exec); that clears within microseconds.
            for attempt in 0..<20 {
                rc = withCStrings(argv) { cArgv in
                    withCStrings(env) { cEnv in
                        guard let identity = spec.identity else {
                            return pa_spawn(
                                path, cArgv, cEnv, childFDs[0], childFDs[1], childFDs[2],
                                spec.newProcessGroup ? 1 : 0, spec.workingDirectory, &pid)
                        }
                        return Self.spawn(as: identity) { cIdentity in
                            pa_spawn_as(
                                cIdentity, path, cArgv, cEnv, childFDs[0], childFDs[1], childFDs[2],
                                spec.newProcessGroup ? 1 : 0, spec.workingDirectory, &pid)
                        }
                    }
                }
                guard rc == ETXTBSY, attempt < 19 else { break }
                usleep(5_000)
            }
            guard rc == 0 else {
                return .failure(AgentError(.spawnFailed, "\(path): \(String(cString: strerror(rc)))"))
            }
            let handle = { (index: Int) in pipes[index].map { DescriptorHandle(fileDescriptor: $0.parent) } }
            let child = Child(
                pid: pid, processGroup: spec.newProcessGroup ? pid : nil,
                stdin: handle(0), stdout: handle(1), stderr: handle(2))
            state.children[pid] = child
            return .success(child)
        }
        switch result {
        case .success(let child): return child
        case .failure(let error):
            for case let pipe? in pipes { close(pipe.parent) }
            throw error
        }
    }

    /// Runs `body` with `identity` as the C struct `pa_spawn_as` takes.
    private static func spawn(as identity: ProcessIdentity, _ body: (UnsafePointer<pa_identity>) -> Int32) -> Int32 {
        identity.groups.withUnsafeBufferPointer { groups in
            var cIdentity = pa_identity(uid: identity.uid, gid: identity.gid, groups: groups.baseAddress, group_count: Int32(groups.count))
            return body(&cIdentity)
        }
    }

    private func reaperLoop() {
        guard reaping == .allChildren else {
            // Sharing the process with other code: take no signals, just poll the registered children.
            while true {
                reapAvailable()
                usleep(10_000)
            }
        }
        // sigtimedwait needs the signals blocked in this thread too (thread libraries may start it with its own mask).
        var set = SignalMask.supervisedSignals
        pthread_sigmask(SIG_BLOCK, &set, nil)
        var timeout = timespec(tv_sec: 1, tv_nsec: 0)
        while true {
            var info = siginfo_t()
            let signal = sigtimedwait(&set, &info, &timeout)
            reapAvailable()
            if signal > 0, signal != SIGCHLD {
                received.yield(signal)
            }
        }
    }

    /// Collects every exit available now without blocking.
    func reapAvailable() {
        var exits: [(Child, ExitStatus)] = []
        state.withLock { state in
            switch reaping {
            case .allChildren:
                while true {
                    var status: Int32 = 0
                    let pid = waitpid(-1, &status, WNOHANG)
                    if pid <= 0 { break }
                    let exit = Self.decode(status)
                    if let child = state.children.removeValue(forKey: pid) {
                        exits.append((child, exit))
                    } else {
                        state.orphansReaped += 1
                    }
                }
            case .registeredOnly:
                for pid in state.children.keys {
                    var status: Int32 = 0
                    if waitpid(pid, &status, WNOHANG) == pid, let child = state.children.removeValue(forKey: pid) {
                        exits.append((child, Self.decode(status)))
                    }
                }
            }
        }
        for (child, status) in exits {
            logger.debug("child exited", metadata: ["pid": "\(child.pid)", "status": "\(status)"])
            child.didExit(status)
        }
    }

    static func decode(_ status: Int32) -> ExitStatus {
        if pa_wifsignaled(status) != 0 { return .signaled(pa_wtermsig(status)) }
        return .exited(pa_wexitstatus(status))
    }
}

/// Runs `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { buffer in
        // Never empty: the terminating nil is always there.
        guard let base = buffer.baseAddress else { preconditionFailure("C string array without storage") }
        return body(base)
    }
}
