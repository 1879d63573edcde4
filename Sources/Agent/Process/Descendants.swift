#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Every process below podagent in the process tree, read from /proc: children it started,
/// orphans re-parented to it as PID 1 or subreaper, and their descendants.
enum Descendants {
    /// The pids whose chain of parents leads to `root`, children first; zombies are left out (they are only waiting to be reaped).
    static func of(_ root: pid_t) -> [pid_t] {
        let procfs = ProcFS()
        var children: [pid_t: [pid_t]] = [:]
        for pid in procfs.pids() {
            guard let stat = procfs.stat(pid), stat.state != "Z" else { continue }
            children[stat.parent, default: []].append(pid)
        }
        var result: [pid_t] = []
        var queue = children[root] ?? []
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            result.append(pid)
            queue += children[pid] ?? []
        }
        return result
    }
}

extension Supervisor {
    /// Ends every process left below podagent: SIGTERM, then SIGKILL for those still there after `grace`.
    ///
    /// The last step of a shutdown, after each service stopped its own children: it catches what
    /// escaped their process groups (setsid, daemons) and orphans handed to podagent.
    /// - Returns: how many processes had to be signalled.
    @discardableResult
    public func endAllDescendants(grace: Duration) async -> Int {
        let me = getpid()
        let first = Descendants.of(me)
        guard !first.isEmpty else { return 0 }
        for pid in first { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, !Descendants.of(me).isEmpty {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = Descendants.of(me)
        for pid in left { kill(pid, SIGKILL) }
        // Give the reaper a moment to collect them, so podagent does not exit with zombies behind.
        let reapDeadline = ContinuousClock.now + .milliseconds(500)
        while ContinuousClock.now < reapDeadline, !Descendants.of(me).isEmpty {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return first.count
    }
}
