import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Agent

/// `offer` hands work to a pool thread only when one is free: a render that would wait behind
/// another job renders alone instead.
@Suite("BlockingPool.offer takes work only while a thread is free")
struct BlockingPoolTests {
    @Test("offered work runs while a thread is free; none is queued while all are busy, and offers resume when one frees up")
    func offerOnlyWhenFree() async throws {
        let pool = BlockingPool(threads: 2, name: "test-offer")
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let ran = Mutex<[String]>([])
        func blocker(_ name: String) -> @Sendable () -> Void {
            { started.signal(); gate.wait(); ran.withLock { $0.append(name) } }
        }
        #expect(pool.offer(blocker("first")))
        #expect(pool.offer(blocker("second")))
        started.wait()
        started.wait()
        // Both threads hold a job: an offer is refused and never runs.
        #expect(!pool.offer { ran.withLock { $0.append("refused") } })
        // A job that must run (a release) still queues behind them.
        pool.release([1, 2, 3])
        gate.signal()
        gate.signal()
        // Once a thread is free again, offers are taken.
        let done = DispatchSemaphore(value: 0)
        let deadline = ContinuousClock.now + .seconds(10)
        var taken = false
        while !taken, ContinuousClock.now < deadline {
            taken = pool.offer { ran.withLock { $0.append("later") }; done.signal() }
            if !taken { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(taken)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(ran.withLock { $0.sorted() } == ["first", "later", "second"])
    }
}
