/// `GET /v2`: server metadata in the Open Inference Protocol's shape.
public struct ServerMetadata: Sendable, Codable, Equatable {
    public var name: String
    public var version: String
    /// Protocol extensions the agent speaks beyond the core (`health_report`, `metrics`).
    public var extensions: [String]

    public init(name: String, version: String, extensions: [String]) {
        (self.name, self.version, self.extensions) = (name, version, extensions)
    }
}
