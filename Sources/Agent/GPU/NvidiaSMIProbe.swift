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

/// Reads GPUs by running `nvidia-smi --query-gpu` and `--query-compute-apps` with CSV output.
public struct NvidiaSMIProbe: GPUProbe {
    let runner: CommandRunner
    let timeout: Duration
    let executable: String
    let environment: [String: String]?

    /// - Parameters:
    ///   - executable: a path, or a name looked up on PATH (of `environment`, else podagent's own).
    public init(runner: CommandRunner, timeout: Duration, executable: String = "nvidia-smi", environment: [String: String]? = nil) {
        self.runner = runner
        self.timeout = timeout
        self.executable = executable
        self.environment = environment
    }

    static let gpuFields = "index,name,uuid,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu"
    static let appFields = "gpu_uuid,pid,used_memory,process_name"

    var isInstalled: Bool {
        (try? ProcessSpec(executable: executable, environment: environment).resolvedExecutable()) != nil
    }

    public func read() async -> GPUReport {
        guard isInstalled else { return .unavailable("nvidia-smi not found on PATH") }
        let gpus: String
        switch await query(["--query-gpu=\(Self.gpuFields)", "--format=csv,noheader,nounits"]) {
        case .success(let text): gpus = text
        case .failure(let failure): return .unavailable(failure.description, source: "nvidia-smi")
        }
        var devices = Self.parseDevices(gpus)
        if devices.isEmpty { return .unavailable("nvidia-smi lists no GPU", source: "nvidia-smi") }
        // Processes are extra detail: when that query fails the devices are still worth reporting.
        if case .success(let apps) = await query(["--query-compute-apps=\(Self.appFields)", "--format=csv,noheader,nounits"]) {
            let byUUID = Self.parseProcesses(apps)
            for index in devices.indices { devices[index].processes = byUUID[devices[index].uuid] ?? [] }
        }
        return GPUReport(available: true, source: "nvidia-smi", reason: nil, devices: devices)
    }

    private func query(_ arguments: [String]) async -> Result<String, QueryFailure> {
        let spec = ProcessSpec(executable: executable, arguments: arguments, environment: environment)
        do {
            let output = try await runner.run(spec, timeout: timeout)
            guard output.status.succeeded else {
                let message = (output.stdout + output.stderr).trimmingSpace()
                return .failure(QueryFailure("nvidia-smi \(output.status): \(message.isEmpty ? "no output" : String(message.prefix(300)))"))
            }
            return .success(output.stdout)
        } catch {
            return .failure(QueryFailure(error.message))
        }
    }

    struct QueryFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Parses `--query-gpu` rows; rows with too few fields are skipped.
    static func parseDevices(_ csv: String) -> [GPUDevice] {
        rows(csv).compactMap { fields in
            guard fields.count >= 8, let index = Int(fields[0]) else { return nil }
            return GPUDevice(
                index: index, name: fields[1], uuid: fields[2],
                memory_total_mib: number(fields[3]), memory_used_mib: number(fields[4]), memory_free_mib: number(fields[5]),
                utilization_percent: number(fields[6]), temperature_c: number(fields[7]))
        }
    }

    /// Parses `--query-compute-apps` rows into processes by GPU UUID.
    static func parseProcesses(_ csv: String) -> [String: [GPUProcess]] {
        var byUUID: [String: [GPUProcess]] = [:]
        for fields in rows(csv) where fields.count >= 3 {
            guard let pid = Int32(fields[1]) else { continue }
            byUUID[fields[0], default: []].append(GPUProcess(pid: pid, used_mib: number(fields[2]), name: fields.count > 3 ? fields[3] : nil))
        }
        return byUUID
    }

    private static func rows(_ csv: String) -> [[String]] {
        csv.split(whereSeparator: \.isNewline).map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpace(newlines: false) }
        }
    }

    /// `[N/A]`, `[Not Supported]` and other non-numbers are nil.
    static func number(_ field: String) -> Double? {
        guard let value = Double(field), value.isFinite else { return nil }
        return value
    }
}
