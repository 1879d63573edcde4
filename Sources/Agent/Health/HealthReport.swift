import Foundation

/// The detailed report `GET /health` and `podagent health --json` show.
public struct HealthReport: Sendable, Codable, Equatable {
    public struct AgentInfo: Sendable, Codable, Equatable {
        public var name: String
        public var version: String
        public var pid: Int32
        public var uptime_s: Double
        public var state_dir: String
    }

    public var agent: AgentInfo
    public var ready: Bool
    public var reasons: [String]
    public var host: HostInfo
    public var gpu: GPUReport
    /// What GPU reclaims after ended workers freed (see docs/gpu.md).
    public var gpu_cleanup: GPUCleanupStatus?
    /// Each managed part (sshd, model workers, the image's command) by name.
    public var parts: [String: PartStatus]
    /// The models that run or were asked for: state, reason, and each instance's GPU placement
    /// (`CUDA_VISIBLE_DEVICES`), pid, restarts and GPU memory. Filled by the HTTP edge (it asks the engine).
    public var models: [ModelStatus]?
    /// podagent's own log file: `writing`, or `stopped` with why (a full disk); absent when there is none.
    public var log_file: LogFile.Status?
}

extension PodAgent {
    /// Assembles the report from the latest readings; nothing here waits on a driver or a child.
    public func healthReport() -> HealthReport {
        let (ready, reasons) = readiness.evaluate()
        return HealthReport(
            agent: .init(name: "podagent", version: PodAgentVersion.current, pid: getpid(), uptime_s: uptime, state_dir: stateDir),
            ready: ready, reasons: reasons,
            host: HostInfo.read(diskPaths: ["/", stateDir]),
            gpu: gpu.latest,
            gpu_cleanup: gpuReclaimer.status,
            parts: readiness.snapshot,
            log_file: logFile?.status)
    }
}
