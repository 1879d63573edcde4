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
