import Foundation

/// The one thread every child process is forked from.
///
/// Children get SIGKILL as their parent-death signal (`pa_spawn`), and Linux sends it when the
/// *thread* that forked them ends, not the process. The cooperative pool's threads come and go
/// (Dispatch retires idle ones), so a child forked there would be killed seconds later for no reason.
/// This thread never ends, so a child's parent-death signal fires only when podagent itself dies.
final class SpawnThread: @unchecked Sendable {
    // @unchecked: `jobs` and `thread` are only touched with `condition` locked.
    static let shared = SpawnThread()

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var thread: Thread?

    /// Runs `body` on the spawn thread and returns its result; the caller blocks meanwhile (a fork
    /// takes about a millisecond, as the posix_spawn before it did).
    func run<T>(_ body: @escaping () -> T) -> T {
        let result = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        if thread == nil {
            let started = Thread { [self] in loop() }
            started.name = "podagent-spawn"
            thread = started
            started.start()
        }
        jobs.append {
            result.value = body()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        guard let value = result.value else { preconditionFailure("the spawn thread did not run the job") }
        return value
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
        // @unchecked: written on the spawn thread before the semaphore is signalled, read after the wait.
        var value: T?
    }
}
