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

/// The signals the supervisor's thread takes with `sigtimedwait` instead of letting them interrupt podagent.
public enum SignalMask {
    static let supervised = [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    static var supervisedSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in supervised { sigaddset(&set, signal) }
        return set
    }

    /// Blocks the supervised signals in the calling thread, and so in every thread it starts later.
    ///
    /// Call it in `main` before any other thread exists: a thread that does not block them would
    /// take SIGTERM's default action (exit) or let SIGCHLD go unnoticed.
    ///
    /// Each also gets a handler that does nothing (it never runs while the signal is blocked):
    /// Swift's async main and `dispatchMain` end the main thread, and the kernel decides whether a
    /// process-wide signal is ignored by looking at that thread. With the default disposition it
    /// would drop SIGCHLD (default action: ignore) and, for PID 1, SIGTERM and the others too.
    /// - Throws: ``AgentError`` `.system` when the process already has another thread (nothing is
    ///   changed then): that thread would keep the signals unblocked.
    public static func blockForSupervisor() throws(AgentError) {
        let threads = threadCount()
        guard threads <= 1 else {
            throw AgentError(
                .system, "cannot supervise children: \(threads) threads exist before the termination signals were blocked (they must be blocked in every thread)")
        }
        for signal in supervised {
            _ = pa_install_noop_handler(signal)
        }
        var set = supervisedSignals
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// The threads of this process (the entries of /proc/self/task); 0 when it cannot be read.
    static func threadCount() -> Int {
        guard let directory = opendir("/proc/self/task") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            // "." and "..": every other entry is a thread id.
            if entry.pointee.d_name.0 != 0x2E { count += 1 }
        }
        return count
    }
}
