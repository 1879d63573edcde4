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

/// `podagent gpu cleanup`: frees the GPU memory orphaned model workers hold.
///
/// Only processes ``GPUProcessTable`` classifies as ``GPUProcessEntry/Owner/orphanedWorker`` are
/// signalled; every other process (a live agent's workers, anything without `PODAGENT_WORKER`,
/// pids not visible here) is listed and left alone.
public struct GPUOrphanCleanup: Sendable {
    /// What a cleanup did.
    public struct Result: Sendable, Codable, Equatable {
        public var dry_run: Bool
        /// Orphaned workers found (and, unless a dry run, killed).
        public var orphans: [GPUProcessEntry]
        public var killed: [Int32]
        public var freed_mib: Double
        /// Orphans still listed by the driver at the deadline.
        public var remaining: [Int32]
        /// Processes left alone, with why.
        public var untouched: [GPUProcessEntry]
        public var complete: Bool
        /// Set when no GPU could be read.
        public var reason: String?
    }

    let probe: any GPUProbe
    let procfs: ProcFS
    let poll: Duration

    public init(probe: any GPUProbe, procfs: ProcFS = ProcFS(), poll: Duration = .milliseconds(250)) {
        self.probe = probe
        self.procfs = procfs
        self.poll = poll
    }

    /// Finds orphaned workers and, unless `dryRun`, SIGKILLs them and waits up to `timeout` for their memory.
    public func run(dryRun: Bool, timeout: Duration) async -> Result {
        let report = await probe.read()
        guard report.available else {
            return Result(dry_run: dryRun, orphans: [], killed: [], freed_mib: 0, remaining: [], untouched: [], complete: false,
                          reason: "no GPU readable: \(report.reason ?? "unknown reason")")
        }
        let entries = GPUProcessTable.entries(report: report, procfs: procfs)
        let orphans = entries.filter { $0.owner == .orphanedWorker }
        var result = Result(
            dry_run: dryRun, orphans: orphans, killed: [], freed_mib: 0, remaining: [],
            untouched: entries.filter { $0.owner != .orphanedWorker }, complete: true, reason: nil)
        guard !dryRun, !orphans.isEmpty else { return result }
        let chosen = Dictionary(orphans.map { ($0.pid, $0) }, uniquingKeysWith: { first, _ in first })
        let (killed, outcome) = await GPUReleaseWait.kill(
            Array(chosen.keys).sorted(), probe: probe, timeout: timeout, poll: poll,
            stillOurs: { pid in
                // Classify again right before the signal: the pid must still be the same orphaned worker.
                guard let before = chosen[pid], let device = report.devices.first(where: { $0.uuid == before.gpu_uuid }) else { return false }
                let now = GPUProcessTable.classify(GPUProcess(pid: pid, used_mib: before.used_mib), device: device, procfs: procfs)
                return now.owner == .orphanedWorker && now.worker == before.worker && now.agent_pid == before.agent_pid
            })
        result.killed = killed
        result.remaining = outcome.remaining
        let held = orphans.reduce(0) { $0 + ($1.used_mib ?? 0) }
        result.freed_mib = max(0, held - outcome.remainingMiB)
        result.complete = outcome.remaining.isEmpty
        return result
    }

    /// Lines for people.
    public static func render(_ result: Result) -> String {
        if let reason = result.reason { return reason }
        var lines: [String] = []
        if result.orphans.isEmpty {
            lines.append("no orphaned podagent worker holds GPU memory")
        }
        for orphan in result.orphans {
            let verb = result.dry_run ? "would kill" : (result.killed.contains(orphan.pid) ? "killed" : "did not kill")
            lines.append("\(verb) pid \(orphan.pid) (\(orphan.worker ?? "?"), \(orphan.used_mib.map { "\(decimalText($0, decimals: 0)) MiB" } ?? "? MiB")): \(orphan.orphan_reason ?? "")")
        }
        if !result.dry_run, !result.orphans.isEmpty {
            lines.append("freed \(decimalText(result.freed_mib, decimals: 0)) MiB")
            if !result.remaining.isEmpty {
                lines.append("still listed by the driver: \(result.remaining.map(String.init).joined(separator: ", "))")
            }
        }
        for entry in result.untouched {
            lines.append("left alone: pid \(entry.pid) (\(entry.owner.rawValue)\(entry.worker.map { " \($0)" } ?? ""))")
        }
        return lines.joined(separator: "\n")
    }
}
