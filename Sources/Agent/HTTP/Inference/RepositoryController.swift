#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Plugins

/// Model lifecycle in the shape of Triton's repository extension: `GET|POST /v2/repository/index`,
/// `POST /v2/repository/models/{name}/load`, `POST /v2/repository/models/{name}/unload`.
struct RepositoryController<Context: RequestContext> {
    let inference: InferenceService?
    let intake: BodyIntake

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("/v2/repository/index") { _, _ in
            try await index(readyOnly: false)
        }
        group.post("/v2/repository/index") { request, _ in
            // Triton's body is optional: {"ready": true} lists only ready models.
            let received = try await intake.receive(request)
            defer { received.finish() }
            let data = Data(received.buffer.readableBytesView)
            var readyOnly = false
            if !data.isEmpty {
                let body = try RequestBody.json(data)
                guard case .object(let members) = body else { throw AgentError(.invalidArgument, "request body: expected a JSON object") }
                if let unknown = members.map(\.0).first(where: { $0 != "ready" }) {
                    throw AgentError(.invalidArgument, "request body: unknown key '\(unknown)' (expected ready)")
                }
                if let ready = body["ready"] {
                    guard case .bool(let flag) = ready else { throw AgentError(.invalidArgument, "ready: expected true or false") }
                    readyOnly = flag
                }
            }
            return try await index(readyOnly: readyOnly)
        }
        group.post("/v2/repository/models/{name}/load") { request, context in
            let service = try InferenceService.require(inference)
            let model = service.canonical(context.parameters.get("name") ?? "")
            let received = try await intake.receive(request)
            defer { received.finish() }
            let overrides = try await received.decode { data throws(AgentError) in try Self.overrides(data) }
            let status = try await service.load(model, overrides: overrides)
            return try JSONResponse.make(.ok, Entry(status))
        }
        group.post("/v2/repository/models/{name}/unload") { request, context in
            let service = try InferenceService.require(inference)
            let model = service.canonical(context.parameters.get("name") ?? "")
            let received = try await intake.receive(request)
            defer { received.finish() }
            let cancelRunning = try await received.decode { data throws(AgentError) in try Self.unloadOptions(data) }
            let status = try await service.unload(model, cancelRunning: cancelRunning)
            return try JSONResponse.make(.ok, Entry(status))
        }
    }

    private func index(readyOnly: Bool) async throws -> Response {
        let service = try InferenceService.require(inference)
        let entries = await service.index().filter { !readyOnly || $0.isReady }.map(Entry.init)
        return try JSONResponse.make(.ok, entries)
    }

    /// `{"parameters": {"config": "...", "checkpoint": "..."}}`, every part optional.
    static func overrides(_ data: Data) throws(AgentError) -> ModelOverrides {
        guard !data.isEmpty else { return ModelOverrides() }
        let body = try RequestBody.json(data)
        guard case .object(let members) = body else { throw AgentError(.invalidArgument, "request body: expected a JSON object") }
        if let unknown = members.map(\.0).first(where: { $0 != "parameters" }) {
            throw AgentError(.invalidArgument, "request body: unknown key '\(unknown)' (expected parameters)")
        }
        guard let parameters = body["parameters"] else { return ModelOverrides() }
        guard case .object(let entries) = parameters else { throw AgentError(.invalidArgument, "parameters: expected a JSON object") }
        var overrides = ModelOverrides()
        for (name, value) in entries {
            guard let text = value.stringValue, !text.isEmpty else {
                throw AgentError(.invalidArgument, "parameters.\(name): expected a non-empty string")
            }
            switch name {
            case "config":
                // tritonclient's load_model(config=) sends a Triton model configuration as JSON text here;
                // podagent's `config` is a path (the model's own config file), checked before anything loads.
                guard text.first(where: { !$0.isWhitespace }) != "{" else {
                    throw AgentError(
                        .invalidArgument,
                        "parameters.config: got a JSON model configuration (Triton's load_model(config=...)), which podagent does not take: "
                            + "a model's configuration comes from its manifest (GET /v2/models/{name}/config shows it); parameters.config "
                            + "is the absolute path of the model's own config file (a readable file inside its plugin directory, "
                            + "checkpoints_dir or api.data_roots), as is parameters.checkpoint for its checkpoint")
                }
                overrides.config = text
            case "checkpoint": overrides.checkpoint = text
            case _ where name.hasPrefix("file:"):
                throw AgentError(
                    .invalidArgument,
                    "parameters.\(name.prefix(80)): podagent does not take model files in a load request (Triton's load_model(files=...)); "
                        + "give parameters.config and parameters.checkpoint as paths of files already on the pod")
            default: throw AgentError(.invalidArgument, "parameters: unknown key '\(name)' (expected config, checkpoint)")
            }
        }
        return overrides
    }

    /// `{"parameters": {"cancel_running": true}}` (optional): end the requests still running instead of
    /// letting them finish. Triton's `unload_dependents` is accepted and ignored (models have no dependents here).
    static func unloadOptions(_ data: Data) throws(AgentError) -> Bool {
        guard !data.isEmpty else { return false }
        let body = try RequestBody.json(data)
        guard case .object(let members) = body else { throw AgentError(.invalidArgument, "request body: expected a JSON object") }
        if let unknown = members.map(\.0).first(where: { $0 != "parameters" }) {
            throw AgentError(.invalidArgument, "request body: unknown key '\(unknown)' (expected parameters)")
        }
        guard let parameters = body["parameters"] else { return false }
        guard case .object(let entries) = parameters else { throw AgentError(.invalidArgument, "parameters: expected a JSON object") }
        var cancelRunning = false
        for (name, value) in entries {
            guard case .bool(let flag) = value else { throw AgentError(.invalidArgument, "parameters.\(name): expected true or false") }
            switch name {
            case "cancel_running": cancelRunning = flag
            case "unload_dependents": continue
            default: throw AgentError(.invalidArgument, "parameters: unknown key '\(name)' (expected cancel_running)")
            }
        }
        return cancelRunning
    }

    /// One model in the index: ModelStatus's own snake_case encoding, except that `reason` is always
    /// there ("" when ready), as clients of Triton's repository index expect.
    struct Entry: Encodable {
        let status: ModelStatus

        init(_ status: ModelStatus) { self.status = status }

        func encode(to encoder: any Encoder) throws {
            var shown = status
            shown.reason = status.reason ?? ""
            try shown.encode(to: encoder)
        }
    }
}
