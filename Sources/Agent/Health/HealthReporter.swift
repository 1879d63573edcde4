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

/// Assembles `/health`'s report (less the models, which the inference handle adds) from the latest
/// readings; nothing here waits on a driver or a child.
public struct HealthReporter: Sendable {
    let readiness: ReadinessRegistry
    let gpu: GPUMonitor
    let cleanup: GPUReclaimer
    let logFile: LogFile?
    let stateDir: String
    let startedAt: ContinuousClock.Instant

    /// - Parameters:
    ///   - cleanup: what the GPU reclaimer freed so far.
    ///   - logFile: podagent's own log file, when it writes one (its state shows in the report).
    ///   - startedAt: when the agent started (the report's uptime).
    public init(
        readiness: ReadinessRegistry, gpu: GPUMonitor, cleanup: GPUReclaimer, logFile: LogFile?, stateDir: String,
        startedAt: ContinuousClock.Instant = .now
    ) {
        self.readiness = readiness
        self.gpu = gpu
        self.cleanup = cleanup
        self.logFile = logFile
        self.stateDir = stateDir
        self.startedAt = startedAt
    }

    /// Seconds since the agent started.
    public var uptime: Double { (ContinuousClock.now - startedAt).inSeconds }

    /// The report as it stands now.
    public func report() -> HealthReport {
        let (ready, reasons) = readiness.evaluate()
        return HealthReport(
            agent: .init(name: "podagent", version: PodAgentVersion.current, pid: getpid(), uptime_s: uptime, state_dir: stateDir),
            ready: ready, reasons: reasons,
            host: HostInfo.read(diskPaths: ["/", stateDir]),
            gpu: gpu.latest,
            gpu_cleanup: cleanup.status,
            parts: readiness.snapshot,
            log_file: logFile?.status)
    }
}
