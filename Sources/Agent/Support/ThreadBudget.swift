import CShims
import NIOCore
import NIOPosix

/// podagent's fixed thread budget, so its threads and memory do not grow with the host's cores.
///
/// Left alone, NIO's event loop group and Swift concurrency's cooperative pool each take a thread per
/// core, and glibc's malloc up to eight arenas per core: 26 threads and 55 MB idle on a 16-core GPU
/// host, for an agent that serves a handful of connections. ``install(threads:)`` sizes NIO's
/// singleton event loop group (which the HTTP server uses) to `http.threads`, makes that same group
/// Swift concurrency's global executor (so no cooperative pool exists), gives NIO's blocking pool
/// one thread, and bounds malloc's arenas. Blocking work never runs there: it has its own few
/// threads (``BlockingPool``: the spawn thread, the body decoders) and the supervisor's reaper.
public enum ThreadBudget {
    /// `http.threads` when the config does not say: two, so one slow handler never stalls `/health`.
    public static let defaultThreads = 2
    /// What `http.threads` accepts.
    public static let threadRange = 1...64
    /// malloc arenas at most: the main arena and one more for the other threads.
    public static let mallocArenas = 2

    /// Applies the budget to this process. Call it once, from the main thread, before any Swift task
    /// runs and before anything uses NIO's singletons (`podagent run` does, first thing): a second
    /// call, or one after a task started, cannot take the executor over and returns false.
    @discardableResult
    public static func install(threads: Int) -> Bool {
        let count = min(max(threads, threadRange.lowerBound), threadRange.upperBound)
        _ = pa_limit_malloc_arenas(Int32(mallocArenas))
        NIOSingletons.groupLoopCountSuggestion = count
        NIOSingletons.blockingPoolThreadCountSuggestion = 1
        return NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
