#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Plugins

/// Asynchronous jobs: `POST /jobs`, `GET /jobs`, `GET /jobs/{id}`, `DELETE /jobs/{id}`.
struct JobsController<Context: RequestContext> {
    let jobs: JobRunner?
    /// Inference's one handle: the model's name and state, the inputs checked at submission.
    let inference: InferenceService?
    let intake: BodyIntake

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("/jobs") { request, _ in
            let jobs = try JobRunner.require(self.jobs)
            let service = try InferenceService.require(inference)
            let received = try await intake.receive(request)
            defer { received.finish() }
            let contentType = received.contentType
            let (body, parts) = try await received.decode { data throws(AgentError) in
                try RequestBody.object(data, contentType: contentType, allowedKeys: ["model", "inputs", "options"])
            }
            guard let name = body["model"]?.stringValue, !name.isEmpty else {
                throw AgentError(.invalidArgument, "model: expected the model's name")
            }
            let model = service.canonical(name)
            _ = try await service.knownStatus(of: model)
            // Checked now so a bad job fails here, not later; multipart uploads are kept in the job as base64.
            // Off the cooperative pool for a large body: encoding, checking and storing it is CPU and disk work.
            let record = try await received.offload { () throws(AgentError) -> JobRecord in
                let inputs = InputResolver.embed(parts, in: body["inputs"] ?? .null)
                _ = try InferenceOptions(body["options"])
                try service.check(inputs)
                return try jobs.submit(model: model, inputs: inputs, options: body["options"] ?? .object([]))
            }
            var headers = HTTPFields()
            headers[.location] = "/jobs/\(record.id)"
            return try JSONResponse.make(.accepted, ["id": record.id], headers: headers)
        }
        group.get("/jobs") { _, _ in
            let jobs = try JobRunner.require(self.jobs)
            return try JSONResponse.make(.ok, JobList(jobs: jobs.jobs().map { JobView($0, withResult: false) }), encoder: JobStore.encoder)
        }
        group.get("/jobs/{id}") { _, context in
            let jobs = try JobRunner.require(self.jobs)
            let id = context.parameters.get("id") ?? ""
            guard JobStore.isValidID(id), let record = jobs.job(id) else { throw AgentError(.notFound, "no job '\(id)'") }
            return try JSONResponse.make(.ok, JobView(record), encoder: JobStore.encoder)
        }
        group.delete("/jobs/{id}") { _, context in
            let jobs = try JobRunner.require(self.jobs)
            let id = context.parameters.get("id") ?? ""
            guard JobStore.isValidID(id) else { throw AgentError(.notFound, "no job '\(id)'") }
            let record = try jobs.cancel(id)
            return try JSONResponse.make(.accepted, JobView(record), encoder: JobStore.encoder)
        }
    }

    struct JobList: Encodable {
        var jobs: [JobView]
    }
}

extension InputResolver {
    /// Replaces `"upload:<part>"` strings under path keys with `{"base64", "filename"}` objects, so a
    /// job's stored request holds its uploads (multipart parts do not outlive the HTTP request).
    static func embed(_ parts: [String: MultipartForm.Part], in value: JSONValue, pathKey: Bool = false) -> JSONValue {
        guard !parts.isEmpty else { return value }
        switch value {
        case .object(let members):
            return .object(members.map { ($0.0, embed(parts, in: $0.1, pathKey: isPathKey($0.0))) })
        case .array(let items):
            return .array(items.map { embed(parts, in: $0, pathKey: pathKey) })
        case .string(let text) where pathKey && text.hasPrefix("upload:"):
            guard let part = parts[String(text.dropFirst("upload:".count))] else { return value }
            return .object([("base64", .string(part.body.base64EncodedString())), ("filename", .string(part.filename ?? part.name))])
        default:
            return value
        }
    }
}
