import Foundation
import Plugins

/// One inference request after the HTTP layer checked it: `inputs` is a JSON object whose file paths
/// already resolved inside the configured data roots.
public struct InferenceRequest: Sendable {
    /// The request id (also the worker protocol's `id`); unique per agent.
    public var id: String
    /// The model's manifest name, as the catalog spells it.
    public var model: String
    /// A JSON object, handed to the worker as `inputs`.
    public var inputs: Data
    /// A JSON object, handed to the worker as `options`: the request's options minus the agent's own
    /// (`score_threshold`, `format`, `include_raw`, `timeout_s`).
    public var workerOptions: Data
    /// The deadline the request asked for; the manifest's `timeout_seconds` caps it, nil takes it.
    public var timeout: Duration?
    /// How the raw output is parsed into the standard result.
    public var parse: ParseOptions

    public init(id: String, model: String, inputs: Data, workerOptions: Data = Data("{}".utf8), timeout: Duration? = nil, parse: ParseOptions = ParseOptions()) {
        self.id = id
        self.model = model
        self.inputs = inputs
        self.workerOptions = workerOptions
        self.timeout = timeout
        self.parse = parse
    }
}

/// Where one request's time went, in seconds.
public struct InferenceTimings: Sendable, Codable, Equatable {
    /// Waiting for a free worker.
    public var queue_s: Double
    /// What the worker reported for the model itself.
    public var inference_s: Double
    /// Parsing the raw output into the standard result.
    public var parse_s: Double
    /// From arrival at the engine to the parsed result, every attempt included.
    public var total_s: Double

    public init(queue_s: Double, inference_s: Double, parse_s: Double, total_s: Double) {
        self.queue_s = queue_s
        self.inference_s = inference_s
        self.parse_s = parse_s
        self.total_s = total_s
    }
}

/// A finished request.
public struct InferenceOutcome: Sendable {
    public var result: StandardResult
    public var timings: InferenceTimings
    /// 1 when the first attempt succeeded.
    public var attempts: Int
    /// Which instance of the model answered.
    public var instance: Int
    /// GPU memory the worker still held after the request, when it reported it.
    public var gpuMemoryMiB: Double?

    public init(result: StandardResult, timings: InferenceTimings, attempts: Int, instance: Int, gpuMemoryMiB: Double?) {
        self.result = result
        self.timings = timings
        self.attempts = attempts
        self.instance = instance
        self.gpuMemoryMiB = gpuMemoryMiB
    }
}

/// One worker instance of a model, as /health and the repository index show it.
public struct InstanceStatus: Sendable, Codable, Equatable {
    public var index: Int
    /// The `CUDA_VISIBLE_DEVICES` value this instance runs with; nil when no GPU is assigned.
    public var gpu: String?
    public var pid: Int32?
    /// `starting`, `idle`, `busy`, `restarting`, `failed`, `stopped`.
    public var state: String
    public var restarts: Int
    public var lastError: String?
    /// Seconds the last start took to load the model (the worker's `ready.load_s`).
    public var loadSeconds: Double?
    /// GPU memory the worker last reported holding.
    public var gpuMemoryMiB: Double?
    /// The uid the worker runs as (never 0 unless `inference.user` says root).
    public var uid: Int?

    public init(
        index: Int, gpu: String?, pid: Int32?, state: String, restarts: Int, lastError: String?,
        loadSeconds: Double? = nil, gpuMemoryMiB: Double? = nil, uid: Int? = nil
    ) {
        self.index = index
        self.gpu = gpu
        self.pid = pid
        self.state = state
        self.restarts = restarts
        self.lastError = lastError
        self.loadSeconds = loadSeconds
        self.gpuMemoryMiB = gpuMemoryMiB
        self.uid = uid
    }

    enum CodingKeys: String, CodingKey {
        case index, gpu, pid, state, restarts, uid
        case lastError = "last_error"
        case loadSeconds = "load_s"
        case gpuMemoryMiB = "gpu_memory_mib"
    }
}

/// A model's state, in the words of Triton's repository extension.
public struct ModelStatus: Sendable, Codable, Equatable {
    /// `READY`, `LOADING`, `UNLOADING`, `UNAVAILABLE`.
    public var state: String
    public var name: String
    public var version: String
    /// Why the model is not ready (load failure, crash loop, unloaded); nil when ready.
    public var reason: String?
    public var config: String
    public var checkpoint: String
    public var instances: [InstanceStatus]
    public var queued: Int
    public var queueLimit: Int

    public var isReady: Bool { state == "READY" }

    public init(
        state: String, name: String, version: String, reason: String?, config: String, checkpoint: String,
        instances: [InstanceStatus], queued: Int, queueLimit: Int
    ) {
        self.state = state
        self.name = name
        self.version = version
        self.reason = reason
        self.config = config
        self.checkpoint = checkpoint
        self.instances = instances
        self.queued = queued
        self.queueLimit = queueLimit
    }

    enum CodingKeys: String, CodingKey {
        case state, name, version, reason, config, checkpoint, instances, queued
        case queueLimit = "queue_limit"
    }
}

/// What a repository `load` may change; nil keeps the manifest's (or the current) value.
public struct ModelOverrides: Sendable, Equatable {
    public var config: String?
    public var checkpoint: String?

    public init(config: String? = nil, checkpoint: String? = nil) {
        self.config = config
        self.checkpoint = checkpoint
    }
}

/// What the HTTP API and the job runner need from inference. ``InferenceEngine`` implements it.
///
/// Errors are ``AgentError``s the HTTP edge maps: `.notFound` (unknown model), `.notReady` (not loaded,
/// loading, or in a crash loop; the message says which), `.overloaded` (queue full; `retryAfterSeconds`
/// set), `.timeout` (the deadline passed: the worker's group was ended and the worker restarted),
/// `.invalidArgument` (the worker said `bad_input`; never retried), `.unavailable` (the worker kept
/// failing after its retries), `.internalError` (the model failed: `model_error`, `oom`),
/// `.cancelled` (the calling task was cancelled).
public protocol InferenceBackend: Sendable {
    /// Runs one request: waits in the model's bounded queue for a free worker, retries transient
    /// failures with backoff, and parses the raw output with the model's plugin.
    func infer(_ request: InferenceRequest) async throws(AgentError) -> InferenceOutcome
    /// Every model in the catalog (enabled or not) with its state.
    func index() async -> [ModelStatus]
    /// One model's state; nil when no such model exists.
    func status(of model: String) async -> ModelStatus?
    /// Starts (or restarts with `overrides`) the model's workers. A loaded model keeps serving on its
    /// old workers until the new ones are ready. Returns once ready, or throws why not.
    func load(_ model: String, overrides: ModelOverrides) async throws(AgentError) -> ModelStatus
    /// Refuses the model's queued requests, lets the running ones finish (or, with `cancelRunning`,
    /// ends their workers so they answer `.unavailable` at once), stops its workers and frees their GPU
    /// memory; returns once they are stopped.
    func unload(_ model: String, cancelRunning: Bool) async throws(AgentError) -> ModelStatus
}

extension InferenceBackend {
    /// Unloads `model`, letting its running requests finish.
    public func unload(_ model: String) async throws(AgentError) -> ModelStatus {
        try await unload(model, cancelRunning: false)
    }
}
