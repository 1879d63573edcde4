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
    static var supervisedSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&set, signal) }
        return set
    }

    /// Blocks the supervised signals in the calling thread, and so in every thread it starts later.
    ///
    /// Call it first thing in `main`, before any thread exists: a thread that does not block them
    /// would take SIGTERM's default action (exit) or let SIGCHLD go unnoticed.
    ///
    /// Each also gets a handler that does nothing (it never runs while the signal is blocked):
    /// Swift's async main and `dispatchMain` end the main thread, and the kernel decides whether a
    /// process-wide signal is ignored by looking at that thread. With the default disposition it
    /// would drop SIGCHLD (default action: ignore) and, for PID 1, SIGTERM and the others too.
    public static func blockForSupervisor() {
        for signal in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] {
            _ = pa_install_noop_handler(signal)
        }
        var set = supervisedSignals
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
