/// `GET /v2/models`: every manifest the agent knows.
public struct ModelList: Sendable, Codable, Equatable {
    public var models: [ModelSummary]

    public init(models: [ModelSummary]) { self.models = models }
}

/// One model in `GET /v2/models`: its manifest's facts and whether it serves now.
public struct ModelSummary: Sendable, Codable, Equatable {
    public var name: String
    public var versions: [String]
    /// The OIP platform string (e.g. `pytorch_mmdet3d`).
    public var platform: String
    public var tasks: [String]
    /// Whether `models` (the configuration) asks for it.
    public var enabled: Bool
    /// The model's readiness part state (`validating`, `ready`, ...), or `disabled`.
    public var state: String
    public var ready: Bool

    public init(name: String, versions: [String], platform: String, tasks: [String], enabled: Bool, state: String, ready: Bool) {
        (self.name, self.versions, self.platform, self.tasks) = (name, versions, platform, tasks)
        (self.enabled, self.state, self.ready) = (enabled, state, ready)
    }
}

/// `GET /v2/models/{name}`: the Open Inference Protocol's model metadata.
public struct ModelMetadata: Sendable, Codable, Equatable {
    /// One input or output tensor: name, OIP datatype (`FP32`, `BYTES`, ...) and shape (-1 where it varies).
    public struct Tensor: Sendable, Codable, Equatable {
        public var name: String
        public var datatype: String
        public var shape: [Int]

        public init(name: String, datatype: String, shape: [Int]) { (self.name, self.datatype, self.shape) = (name, datatype, shape) }
    }

    public var name: String
    public var versions: [String]
    public var platform: String
    public var inputs: [Tensor]
    public var outputs: [Tensor]

    public init(name: String, versions: [String], platform: String, inputs: [Tensor], outputs: [Tensor]) {
        (self.name, self.versions, self.platform, self.inputs, self.outputs) = (name, versions, platform, inputs, outputs)
    }
}

/// `GET /v2/models/{name}/ready`: 200 when ready, else 503 with the same body.
public struct ModelReadiness: Sendable, Codable, Equatable {
    public var name: String
    public var ready: Bool
    /// The repository state (`READY`, `LOADING`, `UNLOADING`, `UNAVAILABLE`).
    public var state: String
    public var reason: String?

    public init(name: String, ready: Bool, state: String, reason: String?) {
        (self.name, self.ready, self.state, self.reason) = (name, ready, state, reason)
    }
}
