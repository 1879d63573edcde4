#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Plugins

/// The Open Inference Protocol's infer route with Triton's binary tensor data extension, and Triton's
/// model configuration and statistics extensions:
/// `POST /v2/models/{name}[/versions/{version}]/infer`, `GET /v2/models/{name}[/versions/{version}]/config`,
/// `GET /v2/models[/{name}[/versions/{version}]]/stats`, and `GET /v2/models/{name}/versions/{version}/ready`.
struct TritonController<Context: RequestContext> {
    /// nil when inference is not enabled (503).
    let inference: InferenceService?
    let models: ModelCatalog
    let bodyIntake: BodyIntake

    func addRoutes(to group: RouterGroup<Context>) {
        // Without inference every infer answers 503 "not enabled", whichever model it names.
        group.post("/v2/models/{name}/infer") { request, context in
            _ = try service()
            return try await infer(request, model: try plugin(context, versioned: false))
        }
        group.post("/v2/models/{name}/versions/{version}/infer") { request, context in
            _ = try service()
            return try await infer(request, model: try plugin(context, versioned: true))
        }
        group.get("/v2/models/{name}/config") { _, context in
            try await config(try plugin(context, versioned: false))
        }
        group.get("/v2/models/{name}/versions/{version}/config") { _, context in
            try await config(try plugin(context, versioned: true))
        }
        // The versioned forms of OIP's model readiness (tritonclient's `is_model_ready(model, version)`);
        // the unversioned one is InferenceController's.
        group.get("/v2/models/{name}/versions/{version}/ready") { _, context in
            let service = try service()
            return try InferenceController<Context>.readiness(try await service.knownStatus(of: try plugin(context, versioned: true).manifest.name))
        }
        group.get("/v2/models/stats") { _, _ in
            try stats(models.plugins)
        }
        group.get("/v2/models/{name}/stats") { _, context in
            try stats([try plugin(context, versioned: false)])
        }
        group.get("/v2/models/{name}/versions/{version}/stats") { _, context in
            try stats([try plugin(context, versioned: true)])
        }
    }

    func service() throws(AgentError) -> InferenceService {
        guard let inference else { throw AgentError(.notReady, "inference is not enabled") }
        return inference
    }

    /// The plugin the path names (case-insensitive), and its version when the path has one.
    private func plugin(_ context: Context, versioned: Bool) throws(AgentError) -> any ModelPlugin {
        try models.plugin(route: context.parameters.get("name") ?? "", version: versioned ? context.parameters.get("version") ?? "" : nil)
    }

    /// Triton's `$stats_model_response` for `plugins`.
    private func stats(_ plugins: [any ModelPlugin]) throws -> Response {
        let statistics = try service().statistics
        let entries = plugins.map { plugin in
            ModelStats(name: plugin.manifest.name, version: plugin.manifest.version, statistics.snapshot(plugin.manifest.name))
        }
        return try JSONResponse.make(.ok, StatsResponse(model_stats: entries))
    }

    /// Triton's model configuration for `plugin`: the infer interface, and the instances it runs.
    private func config(_ plugin: any ModelPlugin) async throws -> Response {
        let service = try service()
        let status = await service.status(of: plugin.manifest.name)
        return try JSONResponse.make(.ok, ModelConfig(plugin, status: status))
    }
}
