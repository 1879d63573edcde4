import Foundation

/// One process holding memory on a GPU.
public struct GPUProcess: Sendable, Codable, Equatable {
    public var pid: Int32
    public var used_mib: Double?
    public var name: String?

    public init(pid: Int32, used_mib: Double?, name: String? = nil) {
        self.pid = pid
        self.used_mib = used_mib
        self.name = name
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

/// What a probe saw: the devices, or why there are none.
public struct GPUReport: Sendable, Codable, Equatable {
    public var available: Bool
    /// `nvml` or `nvidia-smi`; nil when no GPU could be read.
    public var source: String?
    public var reason: String?
    public var devices: [GPUDevice]

    public static func unavailable(_ reason: String, source: String? = nil) -> GPUReport {
        GPUReport(available: false, source: source, reason: reason, devices: [])
    }
}

/// Reads the GPUs. Implementations never crash on a driver problem and never block past their timeout:
/// they report `available: false` with the reason instead.
public protocol GPUProbe: Sendable {
    func read() async -> GPUReport
}

/// NVML first, then nvidia-smi, then "no GPU" with both reasons.
public struct SystemGPUProbe: GPUProbe {
    let nvml: NVMLProbe?
    let smi: NvidiaSMIProbe
    let nvmlFailure: String?

    /// - Parameters:
    ///   - environment: where to look for nvidia-smi (its PATH); nil uses podagent's own.
    public init(runner: CommandRunner, timeout: Duration, nvmlLibrary: String = NVMLProbe.defaultLibrary, environment: [String: String]? = nil) {
        switch NVMLProbe.load(library: nvmlLibrary, timeout: timeout) {
        case .success(let probe):
            nvml = probe
            nvmlFailure = nil
        case .failure(let error):
            nvml = nil
            nvmlFailure = error.message
        }
        smi = NvidiaSMIProbe(runner: runner, timeout: timeout, environment: environment)
    }

    public func read() async -> GPUReport {
        if let nvml {
            let report = await nvml.read()
            if report.available { return report }
            // NVML loaded but failed (driver gone, hung): nvidia-smi may still answer.
            let fallback = await smi.read()
            return fallback.available ? fallback : report
        }
        let report = await smi.read()
        if report.available || smi.isInstalled { return report }
        return .unavailable("no NVIDIA GPU: \(nvmlFailure ?? "NVML unavailable"); \(report.reason ?? "nvidia-smi unavailable")")
    }
}
