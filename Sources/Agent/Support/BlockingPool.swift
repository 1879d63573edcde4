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

/// A few threads of podagent's own, for work that must not run on the cooperative pool: CPU-heavy
/// work (parsing and decoding large bodies, writing uploads) that would stall every other request,
/// and forking children (``SpawnThread``), whose parent-death signal follows the forking thread.
/// The threads start on demand and never end.
public final class BlockingPool: @unchecked Sendable {
    // @unchecked: `jobs` and `started` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var started = 0
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
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        submit {
            box.value = work()
            done.signal()
        }
        done.wait()
        guard let value = box.value else { preconditionFailure("\(name): a job ended without its result") }
        return value
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        // A thread per job up to the limit; idle threads wait for the next job.
        if started < threads {
            started += 1
            let thread = Thread { [self] in loop() }
            thread.name = threads == 1 ? name : "\(name)-\(started)"
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    private final class ResultBox<T>: @unchecked Sendable {
        // @unchecked: written on a pool thread before the semaphore is signalled, read after the wait.
        var value: T?
    }
}
