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
/// `GET /v2/models/{name}/ready` and `POST /v2/models/{name}/infer`.
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
                status: .ok, headers: InferenceHeaders.fields(id: id, outcome: answer.outcome, contentType: "application/json"),
                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        group.get("/v2/models/{name}/ready") { _, context in
            let service = try InferenceService.require(inference)
            let model = service.canonical(context.parameters.get("name") ?? "")
            let status = try await service.knownStatus(of: model)
            let ready = Ready(name: status.name, ready: status.isReady, state: status.state, reason: status.reason)
            return try JSONResponse.make(status.isReady ? .ok : .serviceUnavailable, ready)
        }
        group.post("/v2/models/{name}/infer") { request, context in
            let service = try InferenceService.require(inference)
            let model = service.canonical(context.parameters.get("name") ?? "")
            let received = try await intake.receive(request)
            defer { received.finish() }
            let oip = try await received.decode { data throws(AgentError) in try OIPRequest(try RequestBody.json(data)) }
            let id = oip.id ?? InferenceHeaders.requestID(request)
            let options = try InferenceOptions(oip.parameters, key: "parameters")
            let answer = try await service.run(.init(id: id, model: model, inputs: oip.sample, options: options, offload: received.isLarge))
            let version = await service.status(of: model)?.version ?? ""
            let response = OIPResponse(
                model_name: model, model_version: version, id: id,
                parameters: .init(timings_s: answer.outcome.timings, attempts: answer.outcome.attempts, gpu_memory_mib: answer.outcome.gpuMemoryMiB),
                outputs: [.init(name: "result", datatype: "BYTES", shape: [1], data: [String(decoding: answer.body, as: UTF8.self)])])
            return try JSONResponse.make(.ok, response, headers: InferenceHeaders.fields(id: id, outcome: answer.outcome, contentType: nil))
        }
    }

    struct Ready: Encodable {
        var name: String
        var ready: Bool
        var state: String
        var reason: String?
    }

    struct OIPResponse: Encodable {
        struct Parameters: Encodable {
            var timings_s: InferenceTimings
            var attempts: Int
            var gpu_memory_mib: Double?
        }
        struct Output: Encodable {
            var name: String
            var datatype: String
            var shape: [Int]
            var data: [String]
        }
        var model_name: String
        var model_version: String
        var id: String
        var parameters: Parameters
        var outputs: [Output]
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
        return UUID().uuidString.lowercased()
    }

    /// 1 to 128 letters, digits, `-`, `_` or `.`: safe to echo in a header and to log.
    static func isToken(_ id: String) -> Bool {
        (1...128).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func fields(id: String, outcome: InferenceOutcome, contentType: String?) -> HTTPFields {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        if let name = requestIDName, isToken(id) { fields[name] = id }
        if let name = attemptsName { fields[name] = String(outcome.attempts) }
        if let name = gpuMemoryName, let memory = outcome.gpuMemoryMiB { fields[name] = decimalText(memory, decimals: 1) }
        return fields
    }
}

/// An OIP infer body: the sample description as the BYTES input `sample` (a JSON text), and any
/// other BYTES inputs as more keys of it (e.g. `img_paths`: a list of file paths).
struct OIPRequest: Sendable {
    var id: String?
    var sample: JSONValue
    var parameters: JSONValue?

    init(_ body: JSONValue) throws(AgentError) {
        guard case .object(let members) = body else {
            throw AgentError(.invalidArgument, "request body: expected a JSON object, got \(body.kind)")
        }
        if let unknown = members.map(\.0).first(where: { !["id", "inputs", "parameters", "outputs"].contains($0) }) {
            throw AgentError(.invalidArgument, "request body: unknown key '\(unknown)' (expected id, inputs, parameters, outputs)")
        }
        if let id = body["id"] {
            guard let text = id.stringValue else { throw AgentError(.invalidArgument, "id: expected a string") }
            // The id is echoed and logged: a newline in it would forge a line of the text log.
            guard (1...256).contains(text.count), !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw AgentError(.invalidArgument, "id: expected 1 to 256 characters without control characters (newlines, tabs, escapes)")
            }
            self.id = text
        }
        parameters = body["parameters"]
        guard let inputs = body["inputs"]?.arrayValue, !inputs.isEmpty else {
            throw AgentError(.invalidArgument, "inputs: expected a non-empty list of tensors ({\"name\": \"sample\", \"datatype\": \"BYTES\", \"shape\": [1], \"data\": [\"<sample JSON>\"]})")
        }
        var sample: [(String, JSONValue)] = []
        var extra: [(String, JSONValue)] = []
        for (index, tensor) in inputs.enumerated() {
            let key = "inputs[\(index)]"
            guard let name = tensor["name"]?.stringValue, !name.isEmpty else { throw AgentError(.invalidArgument, "\(key).name: expected a string") }
            guard tensor["datatype"]?.stringValue == "BYTES" else {
                throw AgentError(.invalidArgument, "\(key) (\(name)): datatype must be BYTES (a JSON sample description or file paths)")
            }
            guard let data = tensor["data"]?.arrayValue, !data.isEmpty else {
                throw AgentError(.invalidArgument, "\(key) (\(name)).data: expected a non-empty list")
            }
            if name == "sample" {
                guard data.count == 1 else { throw AgentError(.invalidArgument, "\(key) (sample): one sample per request, got \(data.count)") }
                switch data[0] {
                case .string(let text):
                    let value = try RequestBody.json(Data(text.utf8), source: "\(key) (sample).data[0]")
                    guard case .object(let members) = value else {
                        throw AgentError(.invalidArgument, "\(key) (sample).data[0]: expected a JSON object, got \(value.kind)")
                    }
                    sample = members
                case .object(let members):
                    sample = members
                default:
                    throw AgentError(.invalidArgument, "\(key) (sample).data[0]: expected the sample description as JSON text")
                }
            } else {
                // An input named `...paths` stays a list even with one element.
                let plural = name.lowercased().hasSuffix("paths")
                extra.append((name, data.count == 1 && !plural ? data[0] : .array(data)))
            }
        }
        for (name, value) in extra where !sample.contains(where: { $0.0 == name }) { sample.append((name, value)) }
        self.sample = .object(sample)
    }
}
