import Hummingbird
import Plugins

/// Model metadata in the Open Inference Protocol's shape: `GET /v2/models`, `GET /v2/models/{name}[/versions/{version}]`.
struct ModelsController<Context: RequestContext> {
    let models: ModelCatalog
    /// Each model's reported state (the part `model:<name>`).
    let readiness: ReadinessRegistry

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("/v2/models") { _, _ in
            try JSONResponse.make(.ok, ModelList(models: models.plugins.map { summary($0) }))
        }
        group.get("/v2/models/{name}") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let plugin = models.plugin(named: name) else {
                throw AgentError(.notFound, "model '\(name)' is not known (known: \(models.plugins.map(\.manifest.name).joined(separator: ", ")))")
            }
            return try metadata(plugin)
        }
        group.get("/v2/models/{name}/versions/{version}") { _, context in
            try metadata(try models.plugin(route: context.parameters.get("name") ?? "", version: context.parameters.get("version") ?? ""))
        }
    }

    private func metadata(_ plugin: any ModelPlugin) throws -> Response {
        try JSONResponse.make(.ok, ModelMetadata(
            name: plugin.manifest.name, versions: [plugin.manifest.version], platform: plugin.platform,
            inputs: OIPInterface.inputs, outputs: OIPInterface.outputs))
    }

    private func summary(_ plugin: any ModelPlugin) -> ModelSummary {
        let manifest = plugin.manifest
        let status = readiness.snapshot[ModelChecksService.partName(manifest.name)]
        return ModelSummary(
            name: manifest.name, versions: [manifest.version], platform: plugin.platform,
            tasks: manifest.tasks.map(\.rawValue), enabled: models.isEnabled(manifest.name),
            state: status?.state ?? "disabled", ready: status?.ready ?? false)
    }

    /// OIP model metadata: the tensors infer takes and answers (the model's own are in its configuration).
    struct ModelMetadata: Encodable {
        var name: String
        var versions: [String]
        var platform: String
        var inputs: [TensorMetadata]
        var outputs: [TensorMetadata]
    }

    struct ModelSummary: Encodable {
        var name: String
        var versions: [String]
        var platform: String
        var tasks: [String]
        var enabled: Bool
        var state: String
        var ready: Bool
    }

    struct ModelList: Encodable {
        var models: [ModelSummary]
    }
}
