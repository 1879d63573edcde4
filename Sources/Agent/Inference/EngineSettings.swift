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

/// What every model pool of one engine shares: the agent's parts and the `inference.*` settings.
struct EngineSettings: Sendable {
    let supervisor: Supervisor
    let logger: Logger
    let readiness: ReadinessRegistry
    /// Called after the engine ended a worker's process group (timeout, cancel, unload, crash).
    let onWorkerKilled: @Sendable (_ model: String, _ processGroup: Int32) async -> Void
    /// Where failed attempts are kept for `podagent diagnose`; nil keeps them only in the log.
    let failures: FailureLog?
    /// The environment workers inherit (podagent's own, minus its PODAGENT_* settings).
    let baseEnvironment: [String: String]
    let pluginsDir: String
    let checkpointsDir: String
    let python: String?
    let queueLimit: Int
    let restartBackoffInitial: Duration
    let restartBackoffMax: Duration
    let retryBackoff: Duration
    let crashLoopFailures: Int
    let crashLoopWindow: Duration
    let killGrace: Duration
    let loadTimeout: Duration
    let placement: AgentConfig.Inference.Placement
    /// Where a repository load may take a config or checkpoint from.
    let loadPaths: LoadPaths
    let instances: @Sendable (String) -> Int
    /// Who the workers run as (never root unless asked for by name).
    let workerUser: WorkerUser

    init(
        config: AgentConfig, supervisor: Supervisor, logger: Logger, readiness: ReadinessRegistry,
        baseEnvironment: [String: String], failures: FailureLog? = nil,
        onWorkerKilled: @escaping @Sendable (String, Int32) async -> Void
    ) {
        let inference = config.inference
        self.supervisor = supervisor
        self.logger = logger
        self.readiness = readiness
        self.onWorkerKilled = onWorkerKilled
        self.failures = failures
        self.baseEnvironment = baseEnvironment
        self.pluginsDir = config.pluginsDir
        self.checkpointsDir = config.checkpointsDir
        self.python = inference.python
        self.queueLimit = inference.queueLimit
        self.restartBackoffInitial = .seconds(inference.restartBackoffInitial)
        self.restartBackoffMax = .seconds(inference.restartBackoffMax)
        self.retryBackoff = .seconds(inference.retryBackoff)
        self.crashLoopFailures = inference.crashLoopFailures
        self.crashLoopWindow = .seconds(inference.crashLoopWindow)
        self.killGrace = .seconds(inference.killGrace)
        self.loadTimeout = .seconds(inference.loadTimeout)
        self.placement = inference.placement
        self.loadPaths = LoadPaths(checkpointsDir: config.checkpointsDir, dataRoots: config.api.dataRoots)
        self.instances = { inference.instanceCount(of: $0) }
        self.workerUser = WorkerUser(configured: inference.user, sshUser: config.ssh.user, logger: logger)
    }
}
