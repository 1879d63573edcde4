/// `POST /v2/models/{name}/infer`'s answer: the standard result as the BYTES output `result` (one JSON
/// text), timings and attempts in `parameters`.
public struct OIPInferResponse: Sendable, Codable, Equatable {
    /// The agent's own facts about the request.
    public struct Parameters: Sendable, Codable, Equatable {
        public var timings_s: InferenceTimings
        public var attempts: Int
        public var gpu_memory_mib: Double?

        public init(timings_s: InferenceTimings, attempts: Int, gpu_memory_mib: Double?) {
            (self.timings_s, self.attempts, self.gpu_memory_mib) = (timings_s, attempts, gpu_memory_mib)
        }
    }

    /// One output tensor; podagent answers one, `result`, of datatype BYTES and shape [1].
    public struct Output: Sendable, Codable, Equatable {
        public var name: String
        public var datatype: String
        public var shape: [Int]
        public var data: [String]

        public init(name: String, datatype: String, shape: [Int], data: [String]) {
            (self.name, self.datatype, self.shape, self.data) = (name, datatype, shape, data)
        }
    }

    public var model_name: String
    public var model_version: String
    public var id: String
    public var parameters: Parameters
    public var outputs: [Output]

    public init(model_name: String, model_version: String, id: String, parameters: Parameters, outputs: [Output]) {
        (self.model_name, self.model_version, self.id, self.parameters, self.outputs) = (model_name, model_version, id, parameters, outputs)
    }
}
