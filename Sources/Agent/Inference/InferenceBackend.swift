#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
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
