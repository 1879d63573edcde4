import NIOCore
import NIOPosix

/// A one-shot timer on an event loop: the calling thread's own loop when it is one (a request's task
/// runs on its connection's loop, see ``EventLoopTaskExecutor``), else one of NIO's singleton loops.
///
/// Set and cancelled on its loop, it costs an insertion into and a removal from the loop's timer heap:
/// no task, no thread, no wake-up. A request's deadline as `Task { try await Task.sleep(for:) }`
/// started an unstructured task and a dispatch timer per request, and woke dispatch threads (and
/// through them another event loop) to start it and again to cancel it.
struct LoopTimer: Sendable {
    private let scheduled: Scheduled<Void>

    /// Calls `fire` on the timer's loop once `delay` has passed, unless ``cancel()`` came first.
    init(after delay: Duration, _ fire: @escaping @Sendable () -> Void) {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
        scheduled = loop.scheduleTask(in: Self.amount(delay)) { fire() }
    }

    /// Stops the timer; `fire` is not called afterwards. No-op once it fired.
    func cancel() {
        scheduled.cancel()
    }

    /// `duration` in NIO's nanoseconds, clamped to about 292 years (Int64) instead of trapping on a
    /// configured deadline too long to count in nanoseconds; negative durations are zero.
    static func amount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return .zero }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .nanoseconds(.max) }
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAgain ? .nanoseconds(.max) : .nanoseconds(total)
    }
}
