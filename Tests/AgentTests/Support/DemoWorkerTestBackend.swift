import Foundation
import Logging
import Plugins
import PodAgentExtras

@testable import Agent

/// A STAND-IN for the inference engine, so the API tests can address each real model by name
/// (the real ``InferenceEngine`` serves them only with real weights; its own tests, the compare
/// end-to-end tests and `podctl infer`'s test run the real engine with the Demo model): each model
/// gets one REAL Demo worker (Plugins/Demo/worker.py, a synthetic model: no GPU or weights here) started
/// through ``WorkerProcess`` and the test supervisor, emitting that model's raw format, and the model's
/// REAL plugin (PETR, MapTR, ...) parses it.
///
/// It does only what the API needs to be tested: one request at a time per model, a bounded wait
/// (`.overloaded` with Retry-After beyond it), the deadline (`.timeout`, the worker restarted),
/// cancellation (`.cancelled`, the worker ended and restarted), load and unload. No retries, one instance.
actor DemoWorkerTestBackend: InferenceBackend {
    /// The Demo worker's option that picks the raw format. On this branch it is `format`; the engine
    /// helper renames it to `raw_format`. Both are sent, so the backend works before and after the rename.
    static let rawFormatOptions = ["format", "raw_format"]

    private struct Model {
        var plugin: any ModelPlugin
        var worker: WorkerProcess?
        var pid: Int32?
        var state = "UNAVAILABLE"
        var reason: String? = "not loaded"
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var restarts = 0
        var overrides = ModelOverrides()
    }

    private var models: [String: Model] = [:]
    /// The files the last request's path inputs named, with their contents as the backend read them
    /// (the upload tests check the engine got real files).
    private(set) var lastFiles: [String: Data] = [:]
    /// The last request's inputs as the engine got them.
    private(set) var lastInputs: JSONValue?
    let queueLimit: Int
    let defaultTimeout: Duration
    private let logger = Logger(label: "demo-test-backend")

    /// - Parameter models: manifest names from `Plugins/` (MapTR, PETR, StreamPETR, TopoMLP, VAD).
    init(models names: [String], queueLimit: Int = 4, defaultTimeout: Duration = .seconds(60)) throws {
        let plugins = try PluginRegistry.standard.loadPlugins(directory: TestSupport.repoRoot.appendingPathComponent("Plugins").path)
        for name in names {
            guard let plugin = plugins.first(where: { $0.manifest.name == name }) else {
                throw AgentError(.notFound, "no plugin \(name) in Plugins/")
            }
            models[name] = Model(plugin: plugin)
        }
        self.queueLimit = queueLimit
        self.defaultTimeout = defaultTimeout
    }

    /// Starts every model's worker.
    func startAll() async throws {
        for name in models.keys.sorted() { _ = try await load(name, overrides: ModelOverrides()) }
    }

    /// Stops every worker.
    func stopAll() async {
        for name in models.keys.sorted() { _ = try? await unload(name) }
    }

    /// The worker process id of `model` (tests check it was restarted).
    func workerPID(_ model: String) -> Int32? { models[model]?.pid }

    private func makeWorker(_ name: String) -> WorkerProcess {
        let launch = WorkerProcess.Launch(
            name: name, executable: "python3",
            arguments: [TestSupport.repoRoot.appendingPathComponent("Plugins/Demo/worker.py").path],
            environment: TestSupport.environment(["PODAGENT_MODEL": name, "PODAGENT_WORKER_OPTIONS": "{}"]),
            readyTimeout: .seconds(60), killGrace: .seconds(2))
        return WorkerProcess(launch: launch, supervisor: TestSupport.supervisor, logger: logger)
    }

    /// Restarts outside the caller's task: a cancelled request's task would end the new worker's
    /// output stream at once (AsyncStream iteration stops on cancellation).
    private func restart(_ name: String) async {
        await Task { await self.restartNow(name) }.value
    }

    /// Stops the model's worker and starts a fresh one in its place.
    private func replaceWorker(_ name: String) async throws {
        if let old = models[name]?.worker { await old.stop() }
        let worker = makeWorker(name)
        let ready = try await worker.start()
        models[name]?.worker = worker
        models[name]?.pid = ready.pid
    }

    private func restartNow(_ name: String) async {
        do {
            try await replaceWorker(name)
            models[name]?.restarts += 1
        } catch {
            models[name]?.worker = nil
            models[name]?.pid = nil
            models[name]?.state = "UNAVAILABLE"
            models[name]?.reason = "restart failed: \(error)"
        }
    }

    func infer(_ request: InferenceRequest) async throws(AgentError) -> InferenceOutcome {
        let arrived = ContinuousClock.now
        let name = request.model
        let inputs = try? JSONReader.parse(Array(request.inputs))
        lastInputs = inputs
        lastFiles = [:]
        if let inputs { collectFiles(inputs, underPathKey: false) }
        guard let model = models[name] else { throw AgentError(.notFound, "unknown model '\(name)'") }
        guard model.state == "READY" else { throw AgentError(.notReady, "model '\(name)' is not ready: \(model.reason ?? "")") }
        if model.busy {
            guard model.waiters.count < queueLimit else {
                throw AgentError(.overloaded, "model '\(name)': \(queueLimit) requests already wait", retryAfterSeconds: 2)
            }
            await withCheckedContinuation { models[name]?.waiters.append($0) }
        }
        models[name]?.busy = true
        defer { release(name) }
        let queued = ContinuousClock.now - arrived
        guard let worker = models[name]?.worker, let plugin = models[name]?.plugin else {
            throw AgentError(.unavailable, "model '\(name)' has no worker")
        }
        let options = try Self.workerOptions(request.workerOptions, rawFormat: name.lowercased())
        let timeout = min(request.timeout ?? defaultTimeout, defaultTimeout)
        let answer: JSONValue
        do {
            answer = try await withTaskCancellationHandler {
                try await worker.inferMessage(id: request.id, inputs: request.inputs, options: options, timeout: timeout)
            } onCancel: {
                Task { await worker.stop() }
            }
        } catch {
            if Task.isCancelled {
                await restart(name)
                throw AgentError(.cancelled, "request \(request.id) was cancelled; its worker was ended")
            }
            switch error as? WorkerProcess.Failure {
            case .timedOut(let limit):
                await restart(name)
                throw AgentError(.timeout, "model '\(name)' took longer than \(limit); its worker was ended and restarted")
            case .answered(let kind, let message, _):
                throw AgentError(kind == "bad_input" ? .invalidArgument : .internalError, "model '\(name)': \(kind): \(message)")
            default:
                await restart(name)
                throw AgentError(.unavailable, "model '\(name)': the worker failed: \(error)")
            }
        }
        let parseStart = ContinuousClock.now
        return try AgentError.mapping {
            guard let wrapped = answer["raw"] else { throw AgentError(.internalError, "the worker's answer has no raw output") }
            // The Demo worker wraps the model's raw format ({"synthetic", "format", "output"}); the model's own plugin parses the output.
            let raw = wrapped["synthetic"] == nil ? wrapped : (wrapped["output"] ?? wrapped)
            let result = try plugin.parse(raw: raw, options: request.parse)
            let inference = answer["timings"]?["inference_s"]?.numberValue ?? 0
            return InferenceOutcome(
                result: result,
                timings: InferenceTimings(
                    queue_s: queued.inSeconds, inference_s: inference, parse_s: (ContinuousClock.now - parseStart).inSeconds,
                    total_s: (ContinuousClock.now - arrived).inSeconds),
                attempts: 1, instance: 0, gpuMemoryMiB: answer["gpu_memory_mib"]?.numberValue)
        }
    }

    private func collectFiles(_ value: JSONValue, underPathKey: Bool) {
        switch value {
        case .object(let members):
            for (key, member) in members { collectFiles(member, underPathKey: InputResolver.isPathKey(key)) }
        case .array(let items):
            for item in items { collectFiles(item, underPathKey: underPathKey) }
        case .string(let path) where underPathKey:
            lastFiles[path] = FileManager.default.contents(atPath: path)
        default:
            break
        }
    }

    private func release(_ name: String) {
        if var model = models[name], !model.waiters.isEmpty {
            let next = model.waiters.removeFirst()
            models[name] = model
            next.resume()  // stays busy: the next request takes the worker
        } else {
            models[name]?.busy = false
        }
    }

    static func workerOptions(_ data: Data, rawFormat: String) throws(AgentError) -> Data {
        var members: [(String, JSONValue)] = []
        do {
            if case .object(let given) = try JSONReader.parse(Array(data), source: "worker options") { members = given }
        } catch {
            throw AgentError(.invalidArgument, error.message)
        }
        for key in rawFormatOptions where !members.contains(where: { $0.0 == key }) {
            members.append((key, .string(rawFormat)))
        }
        do { return Data(try JSONWriter.write(.object(members))) } catch { throw AgentError(.invalidArgument, error.message) }
    }

    func index() async -> [ModelStatus] {
        models.keys.sorted().compactMap { status(name: $0) }
    }

    func status(of model: String) async -> ModelStatus? { status(name: model) }

    private func status(name: String) -> ModelStatus? {
        guard let model = models[name] else { return nil }
        let manifest = model.plugin.manifest
        let instance = InstanceStatus(
            index: 0, gpu: nil, pid: model.pid, state: model.worker == nil ? "stopped" : model.busy ? "busy" : "idle",
            restarts: model.restarts, lastError: nil)
        return ModelStatus(
            state: model.state, name: name, version: manifest.version, reason: model.reason,
            config: model.overrides.config ?? manifest.config, checkpoint: model.overrides.checkpoint ?? manifest.checkpoint.file,
            instances: [instance], queued: model.waiters.count, queueLimit: queueLimit)
    }

    func load(_ name: String, overrides: ModelOverrides) async throws(AgentError) -> ModelStatus {
        guard models[name] != nil else { throw AgentError(.notFound, "unknown model '\(name)'") }
        do {
            try await replaceWorker(name)
            models[name]?.state = "READY"
            models[name]?.reason = nil
            models[name]?.overrides = overrides
        } catch {
            models[name]?.state = "UNAVAILABLE"
            models[name]?.reason = "load failed: \(error)"
            throw AgentError(.unavailable, "model '\(name)' failed to load: \(error)")
        }
        guard let status = status(name: name) else { throw AgentError(.notFound, "unknown model '\(name)'") }
        return status
    }

    func unload(_ name: String, cancelRunning: Bool) async throws(AgentError) -> ModelStatus {
        guard models[name] != nil else { throw AgentError(.notFound, "unknown model '\(name)'") }
        if let worker = models[name]?.worker { await worker.stop() }
        models[name]?.worker = nil
        models[name]?.pid = nil
        models[name]?.state = "UNAVAILABLE"
        models[name]?.reason = "unloaded"
        guard let status = status(name: name) else { throw AgentError(.notFound, "unknown model '\(name)'") }
        return status
    }
}
