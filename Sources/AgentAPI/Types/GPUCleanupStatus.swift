/// The `gpu_cleanup` section of /health: totals and the most recent reclaims.
public struct GPUCleanupStatus: Sendable, Codable, Equatable {
    public var reclaims: Int
    public var incomplete: Int
    public var freed_mib_total: Double
    public var killed_total: Int
    /// Newest last.
    public var recent: [GPUReclaimRecord]

    public init(reclaims: Int, incomplete: Int, freed_mib_total: Double, killed_total: Int, recent: [GPUReclaimRecord]) {
        (self.reclaims, self.incomplete, self.freed_mib_total, self.killed_total, self.recent) =
            (reclaims, incomplete, freed_mib_total, killed_total, recent)
    }
}

/// What one reclaim after a worker's process group was ended found and freed.
public struct GPUReclaimRecord: Sendable, Codable, Equatable {
    public var model: String
    public var process_group: Int32
    /// When the reclaim finished (ISO 8601, UTC).
    public var time: String
    /// Processes of the group the driver listed, with what each held (MiB; nil when the driver could not say).
    public var holders: [GPUProcess]
    /// Holders podagent sent SIGKILL.
    public var killed: [Int32]
    /// Memory the group's holders no longer hold, MiB.
    public var freed_mib: Double
    /// Holders still listed at the deadline.
    public var remaining: [Int32]
    public var remaining_mib: Double
    /// True when no process of the group holds GPU memory any more.
    public var complete: Bool
    public var duration_s: Double
    /// Why nothing could be checked (no GPU readable) or what else is worth knowing.
    public var note: String?

    /// A reclaim of `process_group` that has found nothing yet.
    public init(model: String, process_group: Int32) {
        self.model = model
        self.process_group = process_group
        time = ""
        holders = []
        killed = []
        freed_mib = 0
        remaining = []
        remaining_mib = 0
        complete = true
        duration_s = 0
    }
}
