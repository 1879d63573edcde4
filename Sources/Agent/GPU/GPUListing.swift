#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `podagent gpu --json` prints: the devices and every process holding memory on them, classified.
public struct GPUListing: Sendable, Codable, Equatable {
    public var available: Bool
    public var source: String?
    public var reason: String?
    public var devices: [GPUDevice]
    public var processes: [GPUProcessEntry]

    public init(report: GPUReport, procfs: ProcFS = ProcFS()) {
        available = report.available
        source = report.source
        reason = report.reason
        devices = report.devices
        processes = GPUProcessTable.entries(report: report, procfs: procfs)
    }
}

extension SystemGPUProbe {
    /// The system probe for a one-off command: its own supervisor, reaping only what it starts.
    public static func forCommand(timeout: Duration) -> SystemGPUProbe {
        SystemGPUProbe(runner: CommandRunner(supervisor: .forCommand("gpu")), timeout: timeout)
    }
}

/// JSON the commands print: sorted keys, slashes as they are.
public enum CommandJSON {
    public static func string<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
