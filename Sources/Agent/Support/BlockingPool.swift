#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodAgentExtras
import Synchronization

/// A few threads of podagent's own, for work that must not run on the cooperative pool: CPU-heavy
/// work (parsing and decoding large bodies, writing uploads) that would stall every other request,
/// and forking children (``SpawnThread``), whose parent-death signal follows the forking thread.
/// The threads start on demand and never end: the pool's size is a fixed part of podagent's thread budget.
public final class BlockingPool: Sendable {
    private let state = Mutex<(jobs: [@Sendable () -> Void], started: Int)>(([], 0))
    /// One signal per queued job; idle threads wait on it.
    private let queued = DispatchSemaphore(value: 0)
    private let threads: Int
    private let name: String

    public init(threads: Int, name: String) {
        self.threads = max(1, threads)
        self.name = name
    }

    /// Runs `work` on one of the pool's threads and returns its result.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws(AgentError) -> T) async throws(AgentError) -> T {
        let result: Result<T, AgentError> = await withCheckedContinuation { continuation in
            submit {
                do throws(AgentError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Runs `work` on one of the pool's threads, blocking the caller until it is done (for short work
    /// that synchronous callers need, such as a fork).
    func runBlocking<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        let box = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        submit {
            let value = work()
            box.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        guard let value = box.withLock({ $0 }) else { preconditionFailure("\(name): a job ended without its result") }
        return value
    }

    /// Lets go of `value` on one of the pool's threads, so that freeing it (a parsed VAD result is
    /// ~5,000 small arrays) does not hold up the caller's response.
    func release(_ value: some Sendable) {
        submit { withExtendedLifetime(value) {} }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        // A thread per job up to the limit; idle threads wait for the next job.
        let number: Int? = state.withLock { state in
            state.jobs.append(job)
            guard state.started < threads else { return nil }
            state.started += 1
            return state.started
        }
        if let number {
            NativeThread.start(name: threads == 1 ? name : "\(name)-\(number)") { [self] in loop() }
        }
        queued.signal()
    }

    private func loop() -> Never {
        while true {
            queued.wait()
            let job = state.withLock { $0.jobs.removeFirst() }
            job()
        }
    }
}
