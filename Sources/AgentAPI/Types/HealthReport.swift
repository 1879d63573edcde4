/// The detailed report `GET /health` and `podagent health --json` show.
public struct HealthReport: Sendable, Codable, Equatable {
    /// The agent itself: name, version, process, uptime and state directory.
    public struct AgentInfo: Sendable, Codable, Equatable {
        public var name: String
        public var version: String
        public var pid: Int32
        public var uptime_s: Double
        public var state_dir: String

        public init(name: String, version: String, pid: Int32, uptime_s: Double, state_dir: String) {
            (self.name, self.version, self.pid, self.uptime_s, self.state_dir) = (name, version, pid, uptime_s, state_dir)
        }
    }

    public var agent: AgentInfo
    public var ready: Bool
    /// One `part: why` line per part that is not ready, sorted by part name.
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
    public var log_file: LogFileStatus?

    public init(agent: AgentInfo, ready: Bool, reasons: [String], host: HostInfo, gpu: GPUReport, gpu_cleanup: GPUCleanupStatus?,
                parts: [String: PartStatus], models: [ModelStatus]? = nil, log_file: LogFileStatus? = nil) {
        self.agent = agent
        self.ready = ready
        self.reasons = reasons
        self.host = host
        self.gpu = gpu
        self.gpu_cleanup = gpu_cleanup
        self.parts = parts
        self.models = models
        self.log_file = log_file
    }
}
