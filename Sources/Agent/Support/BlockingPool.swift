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
import Plugins
import PodAgentExtras
import Synchronization

/// A few threads of podagent's own, for work that must not run on the cooperative pool: CPU-heavy
/// work (parsing and decoding large bodies, writing uploads) that would stall every other request,
/// and forking children (``SpawnThread``), whose parent-death signal follows the forking thread.
/// The threads start on demand and never end: the pool's size is a fixed part of podagent's thread budget.
public final class BlockingPool: Sendable {
    /// Queued jobs, threads started, and jobs queued or running.
    private let state = Mutex<(jobs: [@Sendable () -> Void], started: Int, pending: Int)>(([], 0, 0))
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

    /// Runs `job` on one of the pool's threads if one is free now (none busy with or waiting for
    /// other jobs); false, and nothing queued, when all are taken.
    public func offer(_ job: @escaping @Sendable () -> Void) -> Bool {
        submit(job, onlyIfFree: true)
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        _ = submit(job, onlyIfFree: false)
    }

    private func submit(_ job: @escaping @Sendable () -> Void, onlyIfFree: Bool) -> Bool {
        // A thread per job up to the limit; idle threads wait for the next job.
        let start: (number: Int?, queued: Bool) = state.withLock { state in
            guard !onlyIfFree || state.pending < threads else { return (nil, false) }
            state.jobs.append(job)
            state.pending += 1
            guard state.started < threads else { return (nil, true) }
            state.started += 1
            return (state.started, true)
        }
        guard start.queued else { return false }
        if let number = start.number {
            NativeThread.start(name: threads == 1 ? name : "\(name)-\(number)") { [self] in loop() }
        }
        queued.signal()
        return true
    }

    private func loop() -> Never {
        while true {
            queued.wait()
            let job = state.withLock { $0.jobs.removeFirst() }
            job()
            state.withLock { $0.pending -= 1 }
        }
    }
}

/// A large result's render may hand part of its work to a free pool thread.
extension BlockingPool: RenderHelper {}
