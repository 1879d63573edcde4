import Plugins

/// One request of a comparison run: a sample sent to a model on one agent, and what came back.
public struct CompareRecord: Sendable {
    public var model: String
    public var sample: String
    /// The pod (or agent URL) that served it.
    public var pod: String
    /// The standard result, when the request succeeded.
    public var result: StandardResult?
    /// Why it failed, when it did.
    public var failure: CompareError?
    /// Seconds measured by the client, send to answer.
    public var latencySeconds: Double?
    public var serverTimings: [String: Double]
    /// `X-PodAgent-GPU-Memory-MiB` of this request.
    public var gpuMemoryMiB: Double?

    public init(model: String, sample: String, pod: String, result: StandardResult? = nil, failure: CompareError? = nil,
                latencySeconds: Double? = nil, serverTimings: [String: Double] = [:], gpuMemoryMiB: Double? = nil) {
        self.model = model
        self.sample = sample
        self.pod = pod
        self.result = result
        self.failure = failure
        self.latencySeconds = latencySeconds
        self.serverTimings = serverTimings
        self.gpuMemoryMiB = gpuMemoryMiB
    }
}

/// Per-model facts the agent reports about itself (repository index): load time, resident GPU memory.
public struct ModelFacts: Sendable {
    public var loadSeconds: Double?
    public var gpuMemoryMiB: Double?

    public init(loadSeconds: Double? = nil, gpuMemoryMiB: Double? = nil) {
        self.loadSeconds = loadSeconds
        self.gpuMemoryMiB = gpuMemoryMiB
    }
}
