import NIOCore
import NIOPosix
import PodAgentExtras
import Synchronization
import Testing

@testable import Agent

/// The request path's executors and deadlines on real NIO event loops: a connection's task pinned to
/// its channel's loop stays there whoever resumes it, and a request's deadline is a timer on that loop.
@Suite("Event loop execution: pinned tasks and loop timers")
struct LoopExecutionTests {
    @Test func aTaskPinnedToALoopIsResumedOnItFromAnotherThread() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loop = group.next()
        // A worker's answer resumes the request's task from the reader thread: each resume must land on
        // the pinned loop (the group-wide executor picks the group's next loop, so it alternates).
        let landed = await withTaskExecutorPreference(EventLoopTaskExecutor(group: loop)) {
            var landed: [Bool] = []
            for _ in 0..<20 {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    NativeThread.start(name: "test-resumer") { continuation.resume() }
                }
                landed.append(loop.inEventLoop)
            }
            return landed
        }
        #expect(landed.count == 20)
        #expect(landed.allSatisfy { $0 }, "resumed off the pinned loop: \(landed)")
        try await group.shutdownGracefully()
    }

    @Test func aLoopTimerFiresOnItsLoopAndACancelledOneNever() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let fired = Mutex<[String]>([])
        // Both set, and one cancelled, in one job on the loop (as a request does): the loop cannot run the
        // timer before the cancel, however late this test's own task gets a thread.
        let kept = try await loop.submit {
            let cancelled = LoopTimer(after: .milliseconds(50)) { fired.withLock { $0.append("cancelled") } }
            let kept = LoopTimer(after: .milliseconds(50)) { fired.withLock { $0.append(loop.inEventLoop ? "kept on its loop" : "kept elsewhere") } }
            cancelled.cancel()
            return kept
        }.get()
        let deadline = ContinuousClock.now + .seconds(30)
        while fired.withLock({ $0.isEmpty }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(300))  // past the cancelled one's time too
        #expect(fired.withLock { $0 } == ["kept on its loop"])
        kept.cancel()  // after it fired: a no-op
        try await group.shutdownGracefully()
    }

    @Test func aTimerSetOffAnyLoopStillFires() async throws {
        let fired = Mutex(false)
        let timer = LoopTimer(after: .milliseconds(10)) { fired.withLock { $0 = true } }
        let deadline = ContinuousClock.now + .seconds(30)
        while !fired.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(fired.withLock { $0 })
        timer.cancel()
    }

    @Test func durationsBecomeNanosecondsClampedInsteadOfTrapping() {
        #expect(LoopTimer.amount(.milliseconds(1500)) == .nanoseconds(1_500_000_000))
        #expect(LoopTimer.amount(.seconds(600)) == .seconds(600))
        #expect(LoopTimer.amount(.seconds(Int64.max)) == .nanoseconds(.max))
        #expect(LoopTimer.amount(.seconds(9_223_372_036)) == .nanoseconds(9_223_372_036_000_000_000))
        #expect(LoopTimer.amount(.seconds(9_223_372_037)) == .nanoseconds(.max))
        #expect(LoopTimer.amount(.seconds(-5)) == .zero)
    }
}
