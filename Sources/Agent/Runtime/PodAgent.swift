import Foundation
import Logging

/// The parts of one running agent that HTTP controllers, services and commands share.
public final class PodAgent: Sendable {
    public let config: AgentConfig
    /// The resolved state directory.
    public let stateDir: String
    public let logger: Logger
    public let supervisor: Supervisor
    public let readiness: ReadinessRegistry
    public let gpu: GPUMonitor
    public let metrics: AgentMetrics
    public let startedAt: ContinuousClock.Instant
    /// The model plugins loaded at start and which of them run.
    public let models: ModelCatalog
    /// The inference engine: the models' worker pools (started by ``InferenceService``).
    public let inference: InferenceEngine

    /// - Parameters:
    ///   - gpuProbe: the probe to use; nil builds the system's (NVML, then nvidia-smi).
    ///   - onWorkerKilled: called after the inference engine ended a worker's process group (GPU reclaim).
    public init(
        config: AgentConfig, stateDir: String, logger: Logger, supervisor: Supervisor, gpuProbe: (any GPUProbe)? = nil,
        models: ModelCatalog = .empty,
        onWorkerKilled: @escaping @Sendable (_ model: String, _ processGroup: Int32) async -> Void = { _, _ in }
    ) {
        self.config = config
        self.stateDir = stateDir
        self.logger = logger
        self.supervisor = supervisor
        self.readiness = ReadinessRegistry()
        self.metrics = AgentMetrics()
        let timeout = Duration.milliseconds(Int64(config.gpu.probeTimeout * 1000))
        let probe = gpuProbe ?? SystemGPUProbe(runner: CommandRunner(supervisor: supervisor), timeout: timeout)
        self.gpu = GPUMonitor(probe: probe, interval: .milliseconds(Int64(config.gpu.pollInterval * 1000)))
        self.startedAt = .now
        self.models = models
        self.inference = InferenceEngine(
            config: config, catalog: models, supervisor: supervisor, readiness: readiness,
            logger: logger, gpuProbe: probe, onWorkerKilled: onWorkerKilled)
        // Enabled models are not ready until ModelChecksService has checked them.
        for name in models.enabled {
            readiness.update(ModelChecksService.partName(name), PartStatus(ready: false, state: "validating", reason: "checks before inference have not run yet"))
        }
    }

    /// Seconds since this agent was created.
    public var uptime: Double {
        let elapsed = ContinuousClock.now - startedAt
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
