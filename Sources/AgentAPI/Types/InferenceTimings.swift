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
