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
import Plugins
import PodAgentExtras

/// The inference engine: one ``ModelPool`` per model of the catalog, warm workers (or oneshot runs)
/// behind a bounded queue, deadlines that end the worker's process group, retries of transient
/// failures, crash-loop detection, and the repository's load/unload.
public final class InferenceEngine: InferenceBackend {
    struct Entry: Sendable {
        let plugin: any ModelPlugin
        let pool: ModelPool
    }

    let settings: EngineSettings
    let gpuProbe: any GPUProbe
    let entries: [Entry]
    /// The models `config.models` enables, started by ``startEnabled(after:)``.
    public let enabled: [String]

    /// - Parameters:
    ///   - gpuProbe: where the GPU count for placement comes from (the agent's probe; a fake one in tests).
    ///   - environment: what workers inherit; nil takes podagent's own.
    ///   - failures: where each failed attempt is also kept (for `podagent diagnose`).
    ///   - onWorkerKilled: called after the engine ended a worker's process group.
    public init(
        config: AgentConfig, catalog: ModelCatalog, supervisor: Supervisor, readiness: ReadinessRegistry, logger: Logger,
        gpuProbe: any GPUProbe, environment: [String: String]? = nil, failures: FailureLog? = nil,
        onWorkerKilled: @escaping @Sendable (_ model: String, _ processGroup: Int32) async -> Void = { _, _ in }
    ) {
        let settings = EngineSettings(
            config: config, supervisor: supervisor, logger: logger, readiness: readiness,
            baseEnvironment: environment ?? ProcessInfo.processInfo.environment, failures: failures,
            onWorkerKilled: onWorkerKilled)
        self.settings = settings
        self.gpuProbe = gpuProbe
        self.enabled = catalog.enabled
        self.entries = catalog.plugins.map { plugin in
            let manifest = plugin.manifest
            let plan = WorkerLaunchPlan(
                manifest: manifest, pluginsDir: settings.pluginsDir, python: settings.python, config: manifest.config,
                checkpoint: Self.defaultCheckpoint(manifest, checkpointsDir: settings.checkpointsDir))
            let reason = catalog.isEnabled(manifest.name) ? "not started yet" : "not enabled (the models setting); load it through the repository"
            return Entry(plugin: plugin, pool: ModelPool(manifest: manifest, plan: plan, settings: settings, reason: reason))
        }
    }

    static func defaultCheckpoint(_ manifest: PluginManifest, checkpointsDir: String) -> String {
        manifest.checkpoint.file.isEmpty ? "" : "\(checkpointsDir)/\(manifest.checkpoint.file)"
    }

    func entry(_ model: String) -> Entry? {
        entries.first { $0.plugin.manifest.name.lowercased() == model.lowercased() }
    }

    private func unknown(_ model: String) -> AgentError {
        AgentError(.notFound, ModelCatalog.unknownModelMessage(model, known: entries.map(\.plugin), pluginsDir: settings.pluginsDir))
    }

    // MARK: - InferenceBackend

    public func infer(_ request: InferenceRequest) async throws(AgentError) -> InferenceOutcome {
        let arrived = ContinuousClock.now
        guard let entry = entry(request.model) else { throw unknown(request.model) }
        guard !Task.isCancelled else { throw AgentError(.cancelled, "request \(request.id) was cancelled before it was queued") }
        let manifest = entry.plugin.manifest
        let cap = Duration.seconds(manifest.timeoutSeconds)
        let timeout = request.timeout.map { min($0, cap) } ?? cap
        let attempts = RequestAttempts(request: request, pool: entry.pool, settings: settings, timeout: timeout, retries: manifest.retries)
        var lease = try await entry.pool.acquire()
        let queued = ContinuousClock.now - arrived
        let answer = try await attempts.run(&lease)
        let parseStart = ContinuousClock.now
        let result: StandardResult
        do {
            result = try entry.plugin.parse(raw: answer.raw, options: request.parse)
        } catch {
            settings.logger.error("model output did not parse", metadata: [
                "model": "\(manifest.name)", "request_id": "\(request.id)", "error": "\(error.message)",
            ])
            throw AgentError(.internalError, "model \(manifest.name) answered output its parser rejects: \(error.message)")
        }
        let now = ContinuousClock.now
        let timings = InferenceTimings(
            queue_s: queued.inSeconds, inference_s: answer.inferenceSeconds, parse_s: (now - parseStart).inSeconds,
            total_s: (now - arrived).inSeconds)
        return InferenceOutcome(
            result: result, timings: timings, attempts: answer.attempts, instance: answer.instance, gpuMemoryMiB: answer.gpuMemoryMiB)
    }

    public func index() async -> [ModelStatus] {
        var statuses: [ModelStatus] = []
        for entry in entries { statuses.append(await entry.pool.status(queueLimit: settings.queueLimit)) }
        return statuses
    }

    public func status(of model: String) async -> ModelStatus? {
        await entry(model)?.pool.status(queueLimit: settings.queueLimit)
    }

    public func load(_ model: String, overrides: ModelOverrides) async throws(AgentError) -> ModelStatus {
        guard let entry = entry(model) else { throw unknown(model) }
        let manifest = entry.plugin.manifest
        let config = try overrides.config.map { (path) throws(AgentError) in try settings.loadPaths.confine(path, key: "parameters.config", manifest: manifest) }
        let checkpoint = try overrides.checkpoint.map { (path) throws(AgentError) in
            try settings.loadPaths.confine(path, key: "parameters.checkpoint", manifest: manifest)
        }
        let current = await entry.pool.status(queueLimit: settings.queueLimit)
        let plan = WorkerLaunchPlan(
            manifest: manifest, pluginsDir: settings.pluginsDir, python: settings.python,
            config: config ?? current.config, checkpoint: checkpoint ?? current.checkpoint)
        let gpus: [String?]
        switch GPUPlacement.assign(settings.placement, configured: settings.instances(manifest.name), report: await gpuProbe.read()) {
        case .success(let assigned): gpus = assigned
        case .failure(let error):
            if !current.isReady { await entry.pool.markUnavailable(error.message) }
            throw error
        }
        try await entry.pool.load(plan: plan, gpus: gpus)
        return await entry.pool.status(queueLimit: settings.queueLimit)
    }

    public func unload(_ model: String, cancelRunning: Bool) async throws(AgentError) -> ModelStatus {
        guard let entry = entry(model) else { throw unknown(model) }
        await entry.pool.unload(reason: "unloaded through the repository", cancelRunning: cancelRunning)
        return await entry.pool.status(queueLimit: settings.queueLimit)
    }

    // MARK: - Lifecycle

    /// Starts every enabled model's workers, each once `canStart` allows it (the checks before
    /// inference passed); a model whose checks failed stays unavailable with their reason.
    /// - Parameter canStart: returns nil to start the model, or why it must not.
    public func startEnabled(after canStart: @escaping @Sendable (String) async -> String?) async {
        await withTaskGroup(of: Void.self) { group in
            for name in enabled {
                group.addTask {
                    guard let entry = self.entry(name) else { return }
                    if let reason = await canStart(name) {
                        await entry.pool.markUnavailable(reason, publishing: false)
                        return
                    }
                    do throws(AgentError) {
                        _ = try await self.load(name, overrides: ModelOverrides())
                    } catch {
                        self.settings.logger.error("model did not start", metadata: ["model": "\(name)", "error": "\(error.message)"])
                    }
                }
            }
        }
    }

    /// Stops every model's workers (graceful shutdown): queued requests are refused, running ones finish.
    public func shutdown() async {
        await withTaskGroup(of: Void.self) { group in
            for entry in entries {
                group.addTask { await entry.pool.unload(reason: "podagent is shutting down") }
            }
        }
    }
}
