#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Hummingbird
import Plugins
import PodAgentExtras

/// Running models: native `POST /models/{name}/infer`, and the Open Inference Protocol's
/// `GET /v2/models/{name}/ready` (its infer route is ``TritonController``'s).
struct InferenceController<Context: RequestContext> {
    let inference: InferenceService?
    let intake: BodyIntake

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("/models/{name}/infer") { request, context in
            let service = try InferenceService.require(inference)
            let model = service.canonical(context.parameters.get("name") ?? "")
            let received = try await intake.receive(request)
            defer { received.finish() }
            let contentType = received.contentType
            let (body, parts) = try await received.decode { data throws(AgentError) in
                try RequestBody.object(data, contentType: contentType, allowedKeys: ["inputs", "options"])
            }
            let id = InferenceHeaders.requestID(request)
            let options = try InferenceOptions(body["options"])
            let answer = try await service.run(
                .init(id: id, model: model, inputs: body["inputs"] ?? .null, options: options, parts: parts, offload: received.isLarge))
            return Response(
                status: .ok, headers: InferenceHeaders.fields(id: id, answer: answer, contentType: "application/json"),
                body: .init(byteBuffer: answer.body))
        }
        group.get("/v2/models/{name}/ready") { _, context in
            let service = try InferenceService.require(inference)
            let model = service.canonical(context.parameters.get("name") ?? "")
            return try Self.readiness(try await service.knownStatus(of: model))
        }
    }

    /// OIP's model readiness answer: 200 when ready, else 503, with the state and why.
    static func readiness(_ status: ModelStatus) throws -> Response {
        let ready = Ready(name: status.name, ready: status.isReady, state: status.state, reason: status.reason)
        return try JSONResponse.make(status.isReady ? .ok : .serviceUnavailable, ready)
    }

    struct Ready: Encodable {
        var name: String
        var ready: Bool
        var state: String
        var reason: String?
    }
}

/// The headers every inference answer carries.
enum InferenceHeaders {
    static let requestIDName = HTTPFields.Element.Name("X-Request-Id")
    static let attemptsName = HTTPFields.Element.Name("X-PodAgent-Attempts")
    static let gpuMemoryName = HTTPFields.Element.Name("X-PodAgent-GPU-Memory-MiB")

    /// The client's `X-Request-Id` when it is a short token, else a new one.
    static func requestID(_ request: Request) -> String {
        if let name = requestIDName, let given = request.headers[name], isToken(given) { return given }
        return RandomID.uuid()
    }

    /// 1 to 128 letters, digits, `-`, `_` or `.`: safe to echo in a header and to log.
    static func isToken(_ id: String) -> Bool {
        (1...128).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func fields(id: String, answer: InferenceService.Answer, contentType: String?) -> HTTPFields {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        if let name = requestIDName, isToken(id) { fields[name] = id }
        if let name = attemptsName { fields[name] = String(answer.attempts) }
        if let name = gpuMemoryName, let memory = answer.gpuMemoryMiB { fields[name] = decimalText(memory, decimals: 1) }
        return fields
    }
}
