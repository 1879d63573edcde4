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
import Logging
import PodAgentExtras

/// The parts of one running agent that HTTP controllers, services and commands share.
public final class PodAgent: Sendable {
    public let config: AgentConfig
    /// The resolved state directory.
    public let stateDir: String
    public let logger: Logger
    public let supervisor: Supervisor
    public let readiness: ReadinessRegistry
    public let gpu: GPUMonitor
    /// Frees what an ended worker's process group left on the GPUs; the engine's `onWorkerKilled` hook calls it.
    public let gpuReclaimer: GPUReclaimer
    /// The last failed attempts, kept in the state directory for `podagent diagnose`; the engine records each one.
    public let failures: FailureLog
    public let metrics: AgentMetrics
    public let startedAt: ContinuousClock.Instant
    /// The model plugins loaded at start and which of them run.
    public let models: ModelCatalog
    /// The inference engine: the models' worker pools (started by ``InferenceEngineService``).
    public let engine: InferenceEngine
    /// The API's bearer token; nil binds the API to 127.0.0.1 only (see ``bindHost``).
    public let apiToken: APIToken?
    /// Inference for the HTTP API; nil when no model plugin exists (its routes answer 503).
    public let inference: InferenceService?
    /// Asynchronous jobs, present with ``inference``.
    public let jobs: JobRunner?
    /// podagent's own log file, when it writes one (its state shows in /health).
    public let logFile: LogFile?
    /// How the API receives request bodies: size limit, large-body cap, decoding off the cooperative pool.
    public let bodyIntake: BodyIntake
    /// sshd's host keys as the sshd service published them, for `GET /v2/ssh/host-keys`.
    public let hostKeys = HostKeyBoard()

    /// - Parameters:
    ///   - gpuProbe: the probe to use; nil builds the system's (NVML, then nvidia-smi).
    ///   - backend: what serves the inference routes; nil takes ``engine``.
    ///   - serveInference: false leaves the inference, repository and job routes answering 503.
    ///   - onWorkerKilled: called after the inference engine ended a worker's process group; nil reclaims its GPU memory.
    public init(
        config: AgentConfig, stateDir: String, logger: Logger, supervisor: Supervisor, gpuProbe: (any GPUProbe)? = nil,
        models: ModelCatalog = .empty, inference backend: (any InferenceBackend)? = nil, serveInference: Bool = true,
        apiToken: APIToken? = nil, logFile: LogFile? = nil,
        onWorkerKilled: (@Sendable (_ model: String, _ processGroup: Int32) async -> Void)? = nil
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
        self.gpuReclaimer = GPUReclaimer(probe: probe, metrics: metrics, logger: logger)
        self.failures = FailureLog(stateDir: stateDir)
        self.startedAt = .now
        self.models = models
        self.apiToken = apiToken
        self.logFile = logFile
        let metrics = self.metrics
        let reclaimer = self.gpuReclaimer
        let reclaimTimeout = Duration.milliseconds(Int64(config.inference.killGrace * 1000) + 10_000)
        self.engine = InferenceEngine(
            config: config, catalog: models, supervisor: supervisor, readiness: readiness,
            logger: logger, gpuProbe: probe, failures: failures,
            onWorkerKilled: onWorkerKilled ?? { model, group in
                _ = await reclaimer.reclaim(model: model, processGroup: group, timeout: reclaimTimeout)
            })
        // The engine serves the API unless a test hands in another backend; with no plugin at all there is nothing to serve.
        let decoding = BlockingPool(threads: 2, name: "podagent-bodies")
        self.bodyIntake = BodyIntake(limit: config.api.maxBodyBytes, maxLarge: config.api.maxLargeBodies, pool: decoding)
        let workerUser = engine.settings.workerUser
        let chosen: (any InferenceBackend)? = serveInference ? backend ?? (models.plugins.isEmpty ? nil : engine) : nil
        let service = chosen.map {
            InferenceService(
                backend: $0, dataRoots: config.api.dataRoots, stateDir: stateDir, models: models, metrics: metrics,
                workerUser: workerUser, pool: decoding)
        }
        self.inference = service
        self.jobs = service.map {
            JobRunner(
                store: JobStore(directory: stateDir + "/jobs", logger: logger), inference: $0, settings: config.jobs,
                modelReadyTimeout: .milliseconds(Int64(config.inference.loadTimeout * 1000)), logger: logger)
        }
        // Enabled models are not ready until ModelChecksService has checked them.
        for name in models.enabled {
            readiness.update(ModelChecksService.partName(name), PartStatus(ready: false, state: "validating", reason: "checks before inference have not run yet"))
        }
    }

    /// Seconds since this agent was created.
    public var uptime: Double {
        (ContinuousClock.now - startedAt).inSeconds
    }
}
