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

/// One process holding GPU memory, with what podagent knows about it: its process group and whether it is a model worker.
public struct GPUProcessEntry: Sendable, Codable, Equatable {
    /// Whose process this is, as far as podagent can tell.
    public enum Owner: String, Sendable, Codable {
        /// A worker of a podagent that is alive and still runs it.
        case worker
        /// A podagent worker whose agent is gone or no longer runs it: `podagent gpu cleanup` frees these.
        case orphanedWorker = "orphaned_worker"
        /// Not a podagent worker (no `PODAGENT_WORKER` in its environment): never touched.
        case other
        /// Listed by the driver but not visible in this PID namespace (or already gone): never touched.
        case notVisible = "not_visible"
    }

    public var gpu: Int
    public var gpu_uuid: String
    public var pid: Int32
    public var name: String?
    public var used_mib: Double?
    public var process_group: Int32?
    public var owner: Owner
    /// `PODAGENT_WORKER` (`<model>/<instance>`) for workers.
    public var worker: String?
    /// `PODAGENT_AGENT_PID` for workers.
    public var agent_pid: Int32?
    /// Why a worker counts as orphaned.
    public var orphan_reason: String?
}

/// Per-process GPU use joined with `/proc`: the table `podagent gpu` prints and cleanup decides on.
public enum GPUProcessTable {
    /// Every process in `report`, classified.
    ///
    /// A worker is orphaned when its environment names a podagent (`PODAGENT_AGENT_PID`) and
    /// - that agent is not alive, or
    /// - the worker no longer descends from it (the agent's pid was reused, or the worker was re-parented away), or
    /// - the worker's process group leader is gone: the engine starts each worker as its group's leader,
    ///   so a group member outliving its leader is a leftover of a worker that was ended.
    ///
    /// A worker without a readable `PODAGENT_AGENT_PID` is reported as a worker and never called orphaned.
    public static func entries(report: GPUReport, procfs: ProcFS = ProcFS()) -> [GPUProcessEntry] {
        report.devices.flatMap { device in
            device.processes.map { process in classify(process, device: device, procfs: procfs) }
        }
    }

    static func classify(_ process: GPUProcess, device: GPUDevice, procfs: ProcFS) -> GPUProcessEntry {
        var entry = GPUProcessEntry(
            gpu: device.index, gpu_uuid: device.uuid, pid: process.pid, name: process.name, used_mib: process.used_mib,
            process_group: nil, owner: .notVisible, worker: nil, agent_pid: nil, orphan_reason: nil)
        guard let stat = procfs.stat(process.pid), stat.state != "Z" else { return entry }
        entry.process_group = stat.processGroup
        if entry.name == nil || entry.name?.isEmpty == true { entry.name = procfs.name(process.pid) }
        guard let environment = procfs.environment(process.pid), let worker = environment["PODAGENT_WORKER"] else {
            entry.owner = .other
            return entry
        }
        entry.worker = worker
        entry.owner = .worker
        guard let agent = environment["PODAGENT_AGENT_PID"].flatMap({ Int32($0) }), agent > 0 else { return entry }
        entry.agent_pid = agent
        entry.orphan_reason = orphanReason(pid: process.pid, group: stat.processGroup, agent: agent, procfs: procfs)
        if entry.orphan_reason != nil { entry.owner = .orphanedWorker }
        return entry
    }

    static func orphanReason(pid: pid_t, group: pid_t, agent: pid_t, procfs: ProcFS) -> String? {
        if !procfs.isAlive(agent) { return "its agent (pid \(agent)) is not running" }
        if !procfs.isDescendant(pid, of: agent) { return "it no longer descends from its agent (pid \(agent))" }
        if group != pid, !procfs.isAlive(group) { return "its worker (process group leader \(group)) has ended" }
        return nil
    }

    /// The table `podagent gpu` prints.
    public static func render(_ entries: [GPUProcessEntry], report: GPUReport) -> String {
        var lines: [String] = []
        for device in report.devices {
            let used = device.memory_used_mib.map { decimalText($0, decimals: 0) } ?? "?"
            let total = device.memory_total_mib.map { decimalText($0, decimals: 0) } ?? "?"
            lines.append("GPU \(device.index) \(device.name) \(device.uuid): \(used) / \(total) MiB used")
        }
        if entries.isEmpty {
            lines.append("no process holds GPU memory")
            return lines.joined(separator: "\n")
        }
        lines.append(pad(["GPU", "PID", "PGID", "USED_MIB", "NAME", "OWNER"], [3, 8, 8, 9, 20]))
        for entry in entries {
            var owner = entry.owner.rawValue
            if let worker = entry.worker { owner += " \(worker) (agent \(entry.agent_pid.map(String.init) ?? "?"))" }
            if let reason = entry.orphan_reason { owner += ": \(reason)" }
            lines.append(pad([
                String(entry.gpu), String(entry.pid), entry.process_group.map(String.init) ?? "-",
                entry.used_mib.map { decimalText($0, decimals: 0) } ?? "?", entry.name ?? "?", owner,
            ], [3, 8, 8, 9, 20]))
        }
        return lines.joined(separator: "\n")
    }

    private static func pad(_ columns: [String], _ widths: [Int]) -> String {
        columns.enumerated().map { index, text in
            index < widths.count ? text + String(repeating: " ", count: max(0, widths[index] - text.count)) : text
        }.joined(separator: " ")
    }
}
