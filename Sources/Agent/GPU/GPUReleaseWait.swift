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
import PodAgentExtras

/// SIGKILLs chosen GPU holders and waits, bounded, until the driver no longer lists them.
enum GPUReleaseWait {
    struct Outcome: Sendable {
        /// Pids the driver still listed at the deadline.
        var remaining: [Int32]
        /// What those still held, MiB (unknown amounts count as 0).
        var remainingMiB: Double
        var elapsed: Duration
        /// The last reading (nil when no reading succeeded after the kill).
        var lastReport: GPUReport?
    }

    /// Sends SIGKILL to each pid for which `stillOurs` holds right before the signal (it re-checks
    /// what chose the pid, so a pid reused in between is left alone), then polls `probe` until none
    /// of `pids` is listed or `timeout` passes.
    static func kill(
        _ pids: [Int32], probe: any GPUProbe, timeout: Duration, poll: Duration, stillOurs: (Int32) -> Bool
    ) async -> (killed: [Int32], outcome: Outcome) {
        var killed: [Int32] = []
        for pid in pids where stillOurs(pid) {
            if Glibc.kill(pid, SIGKILL) == 0 || errno == ESRCH { killed.append(pid) }
        }
        return (killed, await wait(for: Set(pids), probe: probe, timeout: timeout, poll: poll))
    }

    static func wait(for pids: Set<Int32>, probe: any GPUProbe, timeout: Duration, poll: Duration) async -> Outcome {
        let started = ContinuousClock.now
        let deadline = started + timeout
        var last: GPUReport?
        while true {
            let report = await probe.read()
            if report.available { last = report }
            let listed = (last?.devices ?? []).flatMap(\.processes).filter { pids.contains($0.pid) }
            if report.available, listed.isEmpty {
                return Outcome(remaining: [], remainingMiB: 0, elapsed: ContinuousClock.now - started, lastReport: last)
            }
            if ContinuousClock.now >= deadline {
                return Outcome(
                    remaining: listed.map(\.pid).sorted(), remainingMiB: listed.reduce(0) { $0 + ($1.used_mib ?? 0) },
                    elapsed: ContinuousClock.now - started, lastReport: last)
            }
            try? await Task.sleep(for: poll)
        }
    }
}
