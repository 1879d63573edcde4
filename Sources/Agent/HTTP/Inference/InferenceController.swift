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
        if let name = requestIDName, let given = request.headers.value(name), isToken(given) { return given }
        return RandomID.uuid()
    }

    /// 1 to 128 letters, digits, `-`, `_` or `.`: safe to echo in a header and to log.
    static func isToken(_ id: String) -> Bool {
        // Byte by byte: each allowed character is one ASCII byte, and any other byte fails.
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): true
            default: false
            }
        }
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
