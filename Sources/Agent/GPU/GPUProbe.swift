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
