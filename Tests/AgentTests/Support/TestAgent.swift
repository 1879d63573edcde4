import Foundation
import Hummingbird
import Logging

@testable import Agent

/// The API's parts for tests that drive the router directly, wired as ``buildApplication(_:onListening:)``
/// wires them (``APIRouter``), with the parts a test reaches into (readiness, the engine, the reclaimer)
/// in reach. Test code only: the agent itself has no object that holds all its parts.
struct TestAgent: Sendable {
    let config: AgentConfig
    let stateDir: String
    let logger: Logger
    let readiness = ReadinessRegistry()
    let metrics: AgentMetrics
    let gpu: GPUMonitor
    let gpuReclaimer: GPUReclaimer
    let models: ModelCatalog
    /// The real engine; `inference` serves it when a plugin exists.
    let engine: InferenceEngine
    let inference: InferenceService?
    let jobs: JobRunner?
    let hostKeys = HostKeyBoard()
    let apiToken: APIToken?
    let intake: BodyIntake
    /// The checks before inference (built, not run: a test runs them); they report every enabled model as `validating` now.
    let checks: ModelChecksService
    /// What the checks found, as the engine service waits on it.
    let checkOutcomes = ModelCheckOutcomes()

    /// - Parameters:
    ///   - gpuProbe: a stand-in probe (no GPU here).
    init(
        config: AgentConfig, stateDir: String, logger: Logger, gpuProbe: any GPUProbe, models: ModelCatalog = .empty,
        apiToken: APIToken? = nil
    ) {
        self.config = config
        self.stateDir = stateDir
        self.logger = logger
        self.models = models
        self.apiToken = apiToken
        let metrics = AgentMetrics()
        self.metrics = metrics
        gpu = GPUMonitor(probe: gpuProbe, interval: .seconds(config.gpu.pollInterval))
        gpuReclaimer = GPUReclaimer(probe: gpuProbe, metrics: metrics, logger: logger)
        let engine = InferenceEngine(
            config: config, catalog: models, supervisor: TestSupport.supervisor, readiness: readiness, logger: logger,
            gpuProbe: gpuProbe, environment: TestSupport.environment())
        self.engine = engine
        checks = ModelChecksService(
            catalog: models,
            validator: ModelValidator(
                runner: CommandRunner(supervisor: TestSupport.supervisor), pluginsDir: config.pluginsDir,
                workerIdentity: try? engine.settings.workerUser.identity()),
            checkpointsDir: config.checkpointsDir, readiness: readiness, outcomes: checkOutcomes, logger: logger)
        let pool = BlockingPool(threads: 2, name: "test-bodies")
        intake = BodyIntake(limit: config.api.maxBodyBytes, maxLarge: config.api.maxLargeBodies, pool: pool)
        let inference = models.plugins.isEmpty ? nil : InferenceService(
            backend: engine, dataRoots: config.api.dataRoots, stateDir: stateDir, models: models, metrics: metrics,
            workerUser: engine.settings.workerUser, pool: pool)
        self.inference = inference
        jobs = inference.map {
            JobRunner(
                store: JobStore(directory: stateDir + "/jobs", logger: logger), inference: $0, settings: config.jobs,
                modelReadyTimeout: .seconds(config.inference.loadTimeout), logger: logger)
        }
    }

    var reporter: HealthReporter {
        HealthReporter(readiness: readiness, gpu: gpu, cleanup: gpuReclaimer, logFile: nil, stateDir: stateDir)
    }

    func healthReport() -> HealthReport { reporter.report() }

    /// The router buildApplication would build from these parts.
    func buildRouter() -> Router<BasicRequestContext> {
        APIRouter.build(
            controllers: APIRouter.controllers(
                readiness: readiness, reporter: reporter, metrics: metrics, gpu: gpu, supervisor: TestSupport.supervisor,
                models: models, inference: inference, jobs: jobs, intake: intake, hostKeys: hostKeys),
            metrics: metrics, token: apiToken, metricsPublic: config.api.metricsPublic)
    }
}
