import Hummingbird

/// Server metadata in the Open Inference Protocol's shape: `GET /v2`.
struct ServerController<Context: RequestContext> {
    /// Protocol extensions podagent speaks beyond the core.
    static var extensions: [String] { ["health_report", "metrics"] + OIPInterface.extensions }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("/v2") { _, _ in
            try JSONResponse.make(.ok, Metadata(name: "podagent", version: PodAgentVersion.current, extensions: Self.extensions))
        }
    }

    struct Metadata: Encodable {
        var name: String
        var version: String
        var extensions: [String]
    }
}
