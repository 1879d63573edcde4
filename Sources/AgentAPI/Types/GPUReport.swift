/// What a GPU probe saw: the devices, or why there are none.
public struct GPUReport: Sendable, Codable, Equatable {
    public var available: Bool
    /// `nvml` or `nvidia-smi`; nil when no GPU could be read.
    public var source: String?
    public var reason: String?
    public var devices: [GPUDevice]

    public init(available: Bool, source: String?, reason: String?, devices: [GPUDevice]) {
        (self.available, self.source, self.reason, self.devices) = (available, source, reason, devices)
    }

    /// No GPU, and why.
    public static func unavailable(_ reason: String, source: String? = nil) -> GPUReport {
        GPUReport(available: false, source: source, reason: reason, devices: [])
    }
}

/// One GPU as read by a probe. A field the driver could not give (`[N/A]`) is nil.
public struct GPUDevice: Sendable, Codable, Equatable {
    public var index: Int
    public var name: String
    public var uuid: String
    public var memory_total_mib: Double?
    public var memory_used_mib: Double?
    public var memory_free_mib: Double?
    public var utilization_percent: Double?
    public var temperature_c: Double?
    public var processes: [GPUProcess]

    public init(
        index: Int, name: String, uuid: String, memory_total_mib: Double?, memory_used_mib: Double?,
        memory_free_mib: Double?, utilization_percent: Double?, temperature_c: Double?, processes: [GPUProcess] = []
    ) {
        self.index = index
        self.name = name
        self.uuid = uuid
        self.memory_total_mib = memory_total_mib
        self.memory_used_mib = memory_used_mib
        self.memory_free_mib = memory_free_mib
        self.utilization_percent = utilization_percent
        self.temperature_c = temperature_c
        self.processes = processes
    }
}

/// One process holding memory on a GPU.
public struct GPUProcess: Sendable, Codable, Equatable {
    public var pid: Int32
    public var used_mib: Double?
    public var name: String?

    public init(pid: Int32, used_mib: Double?, name: String? = nil) {
        (self.pid, self.used_mib, self.name) = (pid, used_mib, name)
    }
}
