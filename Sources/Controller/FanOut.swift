import Foundation
import Synchronization

/// A sliding window of worker threads: at most `width` pods are in flight at once, and a slow or
/// unreachable pod holds only its own slot. Threads (not tasks) because a libssh session must stay
/// on one thread and its calls block; each worker owns one session at a time, so open descriptors
/// stay bounded by the window no matter how many pods there are.
public enum FanOut {
    /// Runs `job(index)` for every index in `0..<count`, `width` at a time; returns when all are done.
    public static func run(count: Int, width: Int, job: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        _ = descriptorLimitRaised
        let next = Atomic<Int>(0)
        let workers = max(1, min(width, count))
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let thread = Thread {
                while true {
                    let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if index >= count { break }
                    job(index)
                }
                group.leave()
            }
            // libssh and the per-pod buffers need little stack; small stacks let -f 1000 fit.
            thread.stackSize = 256 * 1024
            thread.start()
        }
        group.wait()
    }

    /// A wide window needs a socket per slot: the soft descriptor limit (often 1024) is raised to the hard
    /// one once, so `-f 1000` does not fail in a default shell.
    static let descriptorLimitRaised: Bool = {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return false }
        limit.rlim_cur = limit.rlim_max
        return setrlimit(resource, &limit) == 0
    }()
}
