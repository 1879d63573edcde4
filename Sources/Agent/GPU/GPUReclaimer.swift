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
import Logging
import PodAgentExtras
import Synchronization

/// After the engine ended a worker's process group, makes sure no process of that group still holds
/// GPU memory: kills leftovers of that group only, waits (bounded) until the driver releases them, and
/// records what was freed for /health and /metrics.
public final class GPUReclaimer: Sendable {
    private let probe: any GPUProbe
    private let metrics: AgentMetrics?
    private let logger: Logger
    private let procfs: ProcFS
    private let keep: Int
    private let poll: Duration
    private let state = Mutex(GPUCleanupStatus(reclaims: 0, incomplete: 0, freed_mib_total: 0, killed_total: 0, recent: []))

    /// - Parameters:
    ///   - keep: how many recent records /health shows.
    ///   - poll: how often the probe is read while waiting for memory to be released.
    public init(probe: any GPUProbe, metrics: AgentMetrics?, logger: Logger, procfs: ProcFS = ProcFS(), keep: Int = 20, poll: Duration = .milliseconds(250)) {
        self.probe = probe
        self.metrics = metrics
        self.logger = logger
        self.procfs = procfs
        self.keep = max(1, keep)
        self.poll = poll
    }

    /// Totals and recent records.
    public var status: GPUCleanupStatus { state.withLock { $0 } }

    /// Frees what processes of `processGroup` still hold on the GPUs.
    ///
    /// Only processes the driver lists whose `/proc/<pid>/stat` names `processGroup` are killed; a
    /// listed pid that is not visible here (another PID namespace, already exited) is never signalled.
    /// - Parameter timeout: how long to wait for the driver to release the memory after the kill.
    @discardableResult
    public func reclaim(model: String, processGroup: Int32, timeout: Duration) async -> GPUReclaimRecord {
        let started = ContinuousClock.now
        let before = await probe.read()
        var record = GPUReclaimRecord(model: model, process_group: processGroup)
        if !before.available {
            record.note = "no GPU readable: \(before.reason ?? "unknown reason")"
        } else if processGroup <= 1 {
            // Group 0 or 1 would be podagent's own or init's: never a worker's.
            record.note = "process group \(processGroup) is not a worker's: nothing done"
        } else {
            let holders = before.devices.flatMap(\.processes).filter { procfs.stat($0.pid)?.processGroup == processGroup }
            record.holders = holders
            if !holders.isEmpty {
                let (killed, outcome) = await GPUReleaseWait.kill(
                    holders.map(\.pid), probe: probe, timeout: timeout, poll: poll,
                    stillOurs: { pid in
                        // A zombie of the group is already dead: waited for (the driver may still list it) but not signalled.
                        guard let stat = self.procfs.stat(pid) else { return false }
                        return stat.processGroup == processGroup && stat.state != "Z"
                    })
                record.killed = killed
                record.remaining = outcome.remaining
                record.remaining_mib = outcome.remainingMiB
                let held = holders.reduce(0) { $0 + ($1.used_mib ?? 0) }
                record.freed_mib = max(0, held - outcome.remainingMiB)
                record.complete = outcome.remaining.isEmpty
                if outcome.lastReport == nil { record.note = "the GPU could not be read after the kill" }
            }
        }
        record.duration_s = (ContinuousClock.now - started).inSeconds
        record.time = Timestamp.withFraction()
        remember(record)
        return record
    }

    private func remember(_ record: GPUReclaimRecord) {
        let keep = self.keep
        state.withLock { status in
            status.reclaims += 1
            if !record.complete { status.incomplete += 1 }
            status.freed_mib_total += record.freed_mib
            status.killed_total += record.killed.count
            status.recent.append(record)
            if status.recent.count > keep { status.recent.removeFirst(status.recent.count - keep) }
        }
        let labels = [("model", record.model)]
        metrics?.count("gpu_reclaims", help: "GPU reclaims after a worker's process group was ended", labels: labels)
        if !record.complete {
            metrics?.count("gpu_reclaims_incomplete", help: "GPU reclaims that left memory held at their deadline", labels: labels)
        }
        metrics?.count("gpu_reclaim_killed_processes", help: "Leftover GPU processes killed by reclaims", labels: labels, by: Int64(record.killed.count))
        metrics?.add("gpu_reclaim_freed_mebibytes", help: "GPU memory freed by reclaims (MiB)", labels: labels, by: record.freed_mib)
        let metadata: Logger.Metadata = [
            "model": "\(record.model)", "process_group": "\(record.process_group)", "killed": "\(record.killed)",
            "freed_mib": "\(record.freed_mib)", "remaining": "\(record.remaining)",
        ]
        if !record.complete {
            logger.error("GPU memory still held by a killed worker's processes", metadata: metadata)
        } else if !record.killed.isEmpty {
            logger.notice("killed leftover GPU processes of an ended worker", metadata: metadata)
        } else {
            logger.debug("no GPU memory left behind by an ended worker", metadata: metadata)
        }
    }
}
