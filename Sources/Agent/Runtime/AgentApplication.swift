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
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// What the composition root needs from the launcher: what it read and resolved before anything started.
public struct AgentSetup: Sendable {
    public var config: AgentConfig
    /// The resolved state directory.
    public var stateDir: String
    public var logger: Logger
    /// The one supervisor: it spawns and reaps every child and hands the signals it takes to ``SignalService``.
    public var supervisor: Supervisor
    /// The model plugins loaded at start and which of them run.
    public var models: ModelCatalog
    /// The API's bearer token; nil binds the API to 127.0.0.1 only.
    public var apiToken: APIToken?
    /// podagent's own log file, when it writes one (its state shows in /health).
    public var logFile: LogFile?
    /// The GPU probe; nil builds the system's (NVML, then nvidia-smi). A test hands in a stand-in (no GPU here).
    public var gpuProbe: (any GPUProbe)?
    /// The pod's environment: sshd's keys and session variables come from it.
    public var environment: [String: String]
    /// Reads the ssh settings again, for SIGHUP's reload.
    public var reloadSSH: @Sendable () throws(AgentError) -> AgentConfig.SSH
    /// The image's own command (`podagent run -- CMD ARGS...`), run as a supervised child; empty for none.
    public var command: [String]
    /// Keep podagent up after `command` exits; otherwise its exit code becomes podagent's.
    public var keepRunning: Bool

    public init(
        config: AgentConfig, stateDir: String, logger: Logger, supervisor: Supervisor, models: ModelCatalog = .empty,
        apiToken: APIToken? = nil, logFile: LogFile? = nil, gpuProbe: (any GPUProbe)? = nil, environment: [String: String] = [:],
        reloadSSH: (@Sendable () throws(AgentError) -> AgentConfig.SSH)? = nil, command: [String] = [], keepRunning: Bool = false
    ) {
        self.config = config
        self.stateDir = stateDir
        self.logger = logger
        self.supervisor = supervisor
        self.models = models
        self.apiToken = apiToken
        self.logFile = logFile
        self.gpuProbe = gpuProbe
        self.environment = environment
        let ssh = config.ssh
        self.reloadSSH = reloadSSH ?? { () throws(AgentError) -> AgentConfig.SSH in ssh }
        self.command = command
        self.keepRunning = keepRunning
    }

    /// Where the HTTP API listens: the configured host with a token, 127.0.0.1 without one
    /// (an API nobody authenticates to is reachable only from inside the pod or an SSH tunnel).
    public var bindHost: String {
        apiToken == nil ? "127.0.0.1" : config.http.host
    }
}

/// The composition root: creates every part of a running agent and gives each only what it uses.
/// No part sees the others through a shared object.
/// - Parameter onListening: called with the bound port once the server accepts connections.
public func buildApplication(_ setup: AgentSetup, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> AgentApplication {
    let config = setup.config
    let logger = setup.logger
    let supervisor = setup.supervisor
    let models = setup.models
    let readiness = ReadinessRegistry()
    let metrics = AgentMetrics()
    let probe = setup.gpuProbe ?? SystemGPUProbe(runner: CommandRunner(supervisor: supervisor), timeout: .seconds(config.gpu.probeTimeout))
    let gpu = GPUMonitor(probe: probe, interval: .seconds(config.gpu.pollInterval))
    let reclaimer = GPUReclaimer(probe: probe, metrics: metrics, logger: logger)
    let hostKeys = HostKeyBoard()
    let reclaimTimeout = Duration.seconds(config.inference.killGrace) + .seconds(10)
    let engine = InferenceEngine(
        config: config, catalog: models, supervisor: supervisor, readiness: readiness, logger: logger, gpuProbe: probe,
        failures: FailureLog(stateDir: setup.stateDir),
        onWorkerKilled: { model, group in _ = await reclaimer.reclaim(model: model, processGroup: group, timeout: reclaimTimeout) })
    let checks = ModelCheckOutcomes()
    let checksService = ModelChecksService(
        catalog: models,
        validator: ModelValidator(
            runner: CommandRunner(supervisor: supervisor), pluginsDir: config.pluginsDir,
            workerIdentity: try? engine.settings.workerUser.identity()),
        checkpointsDir: config.checkpointsDir, readiness: readiness, outcomes: checks, logger: logger)
    let decoding = BlockingPool(threads: 2, name: "podagent-bodies")
    let intake = BodyIntake(limit: config.api.maxBodyBytes, maxLarge: config.api.maxLargeBodies, pool: decoding)
    // With no plugin at all there is nothing to serve: the inference, repository and job routes answer 503.
    let inference = models.plugins.isEmpty ? nil : InferenceService(
        backend: engine, dataRoots: config.api.dataRoots, stateDir: setup.stateDir, models: models, metrics: metrics,
        workerUser: engine.settings.workerUser, pool: decoding)
    let jobs = inference.map {
        JobRunner(
            store: JobStore(directory: setup.stateDir + "/jobs", logger: logger), inference: $0, settings: config.jobs,
            modelReadyTimeout: .seconds(config.inference.loadTimeout), logger: logger)
    }
    let reporter = HealthReporter(readiness: readiness, gpu: gpu, cleanup: reclaimer, logFile: setup.logFile, stateDir: setup.stateDir)
    let router = APIRouter.build(
        controllers: APIRouter.controllers(
            readiness: readiness, reporter: reporter, metrics: metrics, gpu: gpu, supervisor: supervisor, models: models,
            inference: inference, jobs: jobs, intake: intake, hostKeys: hostKeys),
        metrics: metrics, token: setup.apiToken, metricsPublic: config.api.metricsPublic)

    // The entrypoint's supervised parts, in start order: sshd, then the image's command; the group stops them in reverse.
    var sshd: SSHDService?
    if config.ssh.shouldRun(isRoot: getuid() == 0) {
        sshd = SSHDService(
            settings: config.ssh, environment: setup.environment, stopGrace: .seconds(min(2, config.shutdownTimeout / 4)),
            supervisor: supervisor, readiness: readiness, metrics: metrics, hostKeys: hostKeys, stateDir: setup.stateDir,
            logger: logger, loadSettings: setup.reloadSSH)
    } else {
        let reason = config.ssh.enabled == .off ? "ssh.enabled is off" : getuid() != 0 ? "podagent is not root" : "\(config.ssh.sshdPath) is missing"
        logger.info("sshd is not managed", metadata: ["reason": "\(reason)"])
        hostKeys.publish(.notManaged(reason: "sshd is not managed by podagent (\(reason))"))
    }
    let command = setup.command.isEmpty ? nil : CommandService(
        command: setup.command, keepRunning: setup.keepRunning, grace: .seconds(config.shutdownTimeout / 2),
        supervisor: supervisor, readiness: readiness, logger: logger)

    // A service that returns by itself stops podagent gracefully: the signal service on SIGTERM or
    // SIGINT, the command when it exits (unless --keep-running).
    let stopsTheGroup = { (service: any Service) in
        ServiceGroupConfiguration.ServiceConfiguration(service: service, successTerminationBehavior: .gracefullyShutdownGroup)
    }
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: gpu),
        stopsTheGroup(SignalService(signals: supervisor.signals, sshd: sshd, command: command, logger: logger)),
        .init(service: checksService),
        .init(service: InferenceEngineService(engine: engine, checks: checks)),
    ]
    if let sshd { services.append(.init(service: sshd)) }
    if let command { services.append(stopsTheGroup(command)) }
    if let jobs { services.append(.init(service: jobs)) }
    logAPIProtection(token: setup.apiToken, config: config, logger: logger)
    return AgentApplication(
        services: services, router: router, config: config, bindHost: setup.bindHost, logger: logger, command: command,
        onListening: onListening)
}

/// Says once, at start, how the API is protected (never the token itself).
private func logAPIProtection(token: APIToken?, config: AgentConfig, logger: Logger) {
    if token == nil {
        let note = config.http.host == "127.0.0.1" ? "" : " instead of \(config.http.host)"
        logger.notice("no API token (PODAGENT_TOKEN or api.token_file): the API listens on 127.0.0.1 only\(note); reach it through an SSH tunnel")
    } else {
        logger.info("the API requires a bearer token", metadata: ["metrics_public": "\(config.api.metricsPublic)"])
    }
}

/// One running agent: its services in one `ServiceGroup`, the HTTP server listed last so it drains first on shutdown.
public final class AgentApplication: Sendable {
    private let group: ServiceGroup
    private let command: CommandService?

    /// - Parameters:
    ///   - services: long-running parts started before the HTTP server, in start order.
    ///   - router: what the HTTP server serves.
    init(
        services: [ServiceGroupConfiguration.ServiceConfiguration], router: Router<BasicRequestContext>, config: AgentConfig,
        bindHost: String, logger: Logger, command: CommandService? = nil, onListening: @escaping @Sendable (Int) async -> Void
    ) {
        let http = config.http
        let connections = ConnectionGuard(limit: ConnectionGuard.effectiveLimit(configured: http.maxConnections))
        if connections.limit < http.maxConnections {
            logger.notice("http.max_connections lowered to \(connections.limit) to stay below the open-file limit")
        }
        let limits = GuardedHTTP1Channel.Limits(
            headerTimeout: .seconds(http.headerTimeout), idleTimeout: .seconds(http.idleTimeout), maxConnections: connections.limit)
        let server = Application(
            router: router,
            server: .guardedHTTP1(limits: limits, connections: connections),
            configuration: .init(
                address: .hostname(bindHost, port: http.port),
                serverName: "podagent/\(PodAgentVersion.current)",
                // A burst of connections (slow clients, say) waits in the kernel's queue rather than
                // overflowing it: an overflow drops a probe's SYN, and its retry comes a second later.
                backlog: 1024,
                // Accepting pauses only while more than a few evicted connections are still closing,
                // so a burst never runs podagent out of descriptors (and into accept's backoff).
                availableConnectionsDelegate: MaximumAvailableConnections(connections.limit + ConnectionGuard.closingMargin, logger: logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        var configuration = ServiceGroupConfiguration(services: services + [.init(service: server)], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(config.shutdownTimeout)
        configuration.maximumCancellationDuration = .seconds(2)
        self.group = ServiceGroup(configuration: configuration)
        self.command = command
    }

    /// Runs until SIGTERM or SIGINT (or the command's exit, or ``triggerGracefulShutdown()``): then
    /// the HTTP server stops accepting, requests in flight finish (within the config's shutdown
    /// timeout), and the other services stop in reverse order.
    public func run() async throws {
        try await group.run()
    }

    /// Starts the graceful shutdown a SIGTERM starts.
    public func triggerGracefulShutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// How the image's own command ended, once it did; nil without one.
    public var commandExit: ExitStatus? { command?.exitStatus }
}
