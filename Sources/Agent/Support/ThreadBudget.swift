import CShims
import NIOCore
import NIOPosix

/// podagent's fixed thread budget, so its threads and memory do not grow with the host's cores.
///
/// Left alone, NIO's event loop group and the Swift concurrency pool (libdispatch's global queue on
/// Linux) each take a thread per core, and glibc's malloc up to eight arenas per core: 26 threads
/// and 55 MB idle on a 16-core GPU host, for an agent that serves a handful of connections.
/// ``install(threads:)`` sizes NIO's singleton event loop group (which the HTTP server uses) to
/// `http.threads`, gives NIO's blocking pool one thread and bounds malloc's arenas; `podagent run`
/// then starts its root task with ``taskExecutor`` as its executor preference, so every structured
/// child task (each connection's, each service's, every task group's) and every default actor runs
/// on those same event loop threads. Blocking work never runs there: it has its own few threads
/// (``BlockingPool``: the spawn thread, the body decoders; the supervisor's reaper; pipe readers).
public enum ThreadBudget {
    /// `http.threads` when the config does not say: two, so one slow handler never stalls `/health`.
    public static let defaultThreads = 2
    /// What `http.threads` accepts.
    public static let threadRange = 1...64
    /// malloc arenas at most: the main arena and one more for the other threads.
    public static let mallocArenas = 2

    /// Runs tasks on NIO's singleton event loop group (sized by ``install(threads:)``).
    public static let taskExecutor = EventLoopTaskExecutor(group: MultiThreadedEventLoopGroup.singleton)

    /// Applies the budget to this process. Call it once, from the main thread, before anything uses
    /// NIO's singletons (`podagent run` does, first thing); NIO traps on a second call.
    public static func install(threads: Int) {
        _ = pa_limit_malloc_arenas(Int32(mallocArenas))
        NIOSingletons.groupLoopCountSuggestion = min(max(threads, threadRange.lowerBound), threadRange.upperBound)
        NIOSingletons.blockingPoolThreadCountSuggestion = 1
    }
}

/// A task executor on an event loop group: a job runs on one of its loops (the current one when the
/// enqueuing thread is one of them, so a task mostly stays on its loop). Made with a single
/// `EventLoop` as its group, it runs every job on that loop, whoever enqueues it (each HTTP
/// connection's task runs so on its channel's loop: ``GuardedHTTP1Channel``).
public final class EventLoopTaskExecutor: TaskExecutor {
    private let group: any EventLoopGroup

    public init(group: any EventLoopGroup) {
        self.group = group
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        group.any().execute { job.runSynchronously(on: executor) }
    }
}
