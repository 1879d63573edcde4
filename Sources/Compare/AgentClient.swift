import Foundation
import Plugins

/// A model an agent lists, and whether it can take requests now.
public struct ServedModel: Sendable, Equatable, Codable {
    public var name: String
    public var state: String
    public var ready: Bool
    /// The longest load among the model's instances (the worker's `ready.load_s`), when the index gives it.
    public var loadSeconds: Double?
    /// GPU memory the instances last reported holding, summed, when the index gives it.
    public var gpuMemoryMiB: Double?

    public init(name: String, state: String, ready: Bool, loadSeconds: Double? = nil, gpuMemoryMiB: Double? = nil) {
        self.name = name
        self.state = state
        self.ready = ready
        self.loadSeconds = loadSeconds
        self.gpuMemoryMiB = gpuMemoryMiB
    }
}

/// What one successful `POST /models/{name}/infer` gave back.
public struct InferReply: Sendable {
    /// The standard result, decoded (the schema in docs/result-schema.md).
    public var result: StandardResult
    /// The agent's body exactly as received (for printing and for `--json`).
    public var body: Data
    /// Seconds from sending the request to the end of the answer, measured here.
    public var latencySeconds: Double
    /// `meta.timings_s` (or `timings_seconds`) from the result: queue_s, inference_s, parse_s, total_s.
    public var serverTimings: [String: Double]
    /// `X-PodAgent-GPU-Memory-MiB`, when the agent knows it.
    public var gpuMemoryMiB: Double?
    /// `X-PodAgent-Attempts`.
    public var attempts: Int?
    /// `X-Request-Id`.
    public var requestID: String?
}

/// The agent's HTTP API as the contract describes it (native `/models/{name}/infer`, `/v2/repository/index`).
public struct AgentClient: Sendable {
    public let transport: any AgentTransport
    /// Seconds to wait for one answer.
    public var timeout: Double

    public init(transport: any AgentTransport, timeout: Double = 300) {
        self.transport = transport
        self.timeout = timeout
    }

    /// Runs one sample. `inputs` is the sample description (a JSON object); `options` go to the agent as given.
    /// The answer must be a standard result (no `format` option, or `format=standard`).
    public func infer(model: String, inputs: Data, options: [String: JSONValue] = [:]) throws(CompareError) -> InferReply {
        let (reply, latency) = try post(model: model, inputs: inputs, options: options)
        let result: StandardResult
        do { result = try StandardResult.decode(reply.body) } catch {
            throw CompareError(.invalidResult, "model '\(model)': the agent's answer is not a standard result: \(error.message)")
        }
        return InferReply(result: result, body: reply.body, latencySeconds: latency,
                          serverTimings: Self.timings(reply.body), gpuMemoryMiB: reply.headers["x-podagent-gpu-memory-mib"].flatMap(Double.init),
                          attempts: reply.headers["x-podagent-attempts"].flatMap { Int($0) }, requestID: reply.headers["x-request-id"])
    }

    /// `POST /models/{model}/infer` with `{"inputs", "options"}`; a 200 answer as received (any export format)
    /// and the client-measured seconds; other statuses become errors.
    public func post(model: String, inputs: Data, options: [String: JSONValue]) throws(CompareError) -> (HTTPReply, Double) {
        var body = Data(#"{"inputs":"#.utf8)
        body.append(inputs)
        body.append(Data(#","options":"#.utf8))
        let optionObject = JSONValue.object(options.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        do { body.append(Data(try JSONWriter.write(optionObject))) } catch {
            throw CompareError(.usage, "options cannot be written as JSON: \(error.message)")
        }
        body.append(Data("}".utf8))
        let start = ContinuousClock.now
        let reply = try transport.send(method: "POST", path: "/models/\(Self.escape(model))/infer", body: body, timeout: timeout)
        let elapsed = ContinuousClock.now - start
        guard reply.status == 200 else { throw Self.error(for: reply, model: model) }
        return (reply, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// The models the agent lists: `GET /v2/repository/index`, else `GET /v2/models` (older agents).
    public func servedModels() throws(CompareError) -> [ServedModel] {
        let index = try transport.send(method: "GET", path: "/v2/repository/index", body: nil, timeout: min(timeout, 30))
        if index.status == 200, let entries = try? JSONSerialization.jsonObject(with: index.body) as? [[String: Any]] {
            return entries.compactMap { entry in
                guard let name = entry["name"] as? String else { return nil }
                let state = (entry["state"] as? String) ?? "unknown"
                let instances = entry["instances"] as? [[String: Any]] ?? []
                func number(_ item: [String: Any], _ keys: [String]) -> Double? {
                    keys.lazy.compactMap { (item[$0] as? NSNumber)?.doubleValue }.first
                }
                let loads = instances.compactMap { number($0, ["load_s", "load_seconds", "loadSeconds"]) }
                let memory = instances.compactMap { number($0, ["gpu_memory_mib", "gpuMemoryMiB"]) }
                return ServedModel(name: name, state: state, ready: state.uppercased() == "READY",
                                   loadSeconds: loads.max(), gpuMemoryMiB: memory.isEmpty ? nil : memory.reduce(0, +))
            }
        }
        if index.status == 200 { throw CompareError(.invalidResult, "GET /v2/repository/index: not a list of {\"name\", \"state\"} entries") }
        if index.status != 404 { throw Self.error(for: index, model: nil) }
        let list = try transport.send(method: "GET", path: "/v2/models", body: nil, timeout: min(timeout, 30))
        guard list.status == 200 else { throw Self.error(for: list, model: nil) }
        guard let object = try? JSONSerialization.jsonObject(with: list.body) as? [String: Any],
              let models = object["models"] as? [[String: Any]] else {
            throw CompareError(.invalidResult, "GET /v2/models: not a {\"models\": [...]} answer")
        }
        return models.compactMap { entry in
            guard let name = entry["name"] as? String, (entry["enabled"] as? Bool) != false else { return nil }
            return ServedModel(name: name, state: (entry["state"] as? String) ?? "unknown", ready: (entry["ready"] as? Bool) ?? false)
        }
    }

    /// Maps the agent's error statuses to clear messages (the agent's own `{"error": ...}` text included).
    static func error(for reply: HTTPReply, model: String?) -> CompareError {
        let detail = (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["error"] as? String
            ?? String(decoding: reply.body.prefix(300), as: UTF8.self)
        let what = model.map { "model '\($0)'" } ?? "the agent"
        let suffix = detail.isEmpty ? "" : ": \(detail)"
        switch reply.status {
        case 401, 403:
            return CompareError(.unauthorized, "the agent refused the token (\(reply.status))\(suffix); check --token-file, PODCTL_TOKEN or the inventory's token_file")
        case 404:
            return CompareError(.notFound, "\(what): not found (404)\(suffix)")
        case 429:
            let retry = reply.headers["retry-after"].map { "; retry after \($0) s" } ?? ""
            return CompareError(.overloaded, "\(what): the queue is full (429)\(suffix)\(retry)")
        case 503:
            return CompareError(.unavailable, "\(what): not ready (503)\(suffix)")
        case 504:
            return CompareError(.timeout, "\(what): timed out on the agent (504)\(suffix)")
        case 400, 413, 422:
            return CompareError(.badRequest, "\(what): the agent rejected the request (\(reply.status))\(suffix)")
        default:
            return CompareError(.serverError, "\(what): the agent answered \(reply.status)\(suffix)")
        }
    }

    /// `meta.timings_s` per the API contract, or `meta.timings_seconds` per the result schema.
    static func timings(_ body: Data) -> [String: Double] {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let meta = object["meta"] as? [String: Any] else { return [:] }
        let timings = (meta["timings_s"] as? [String: Any]) ?? (meta["timings_seconds"] as? [String: Any]) ?? [:]
        return timings.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    static func escape(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? name
    }
}
