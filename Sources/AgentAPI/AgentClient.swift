#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodAgentExtras

/// The agent's HTTP API for its clients (`podagent health`, `podagent compare`, podctl's health, infer,
/// compare, tunnels and trust): typed calls over one ``AgentTransport``, with the bearer token added and
/// every error status mapped once into an ``AgentAPIError``. Blocking; safe to share between threads.
public struct AgentClient: Sendable {
    public let transport: any AgentTransport
    /// Sent as `Authorization: Bearer …`; nil sends none.
    public let token: AgentToken?
    /// How messages name the agent: `the agent`, `the agent at https://…`.
    public var label: String
    /// Named in the message when the agent wants a token and none was sent.
    public var tokenRule: AgentToken.Rule?
    /// How long one answer may take (the probes and listings take at most 30 s of it).
    public var timeout: Duration

    public init(transport: any AgentTransport, token: AgentToken?, label: String = "the agent", tokenRule: AgentToken.Rule? = nil,
                timeout: Duration = .seconds(300)) {
        self.transport = transport
        self.token = token
        self.label = label
        self.tokenRule = tokenRule
        self.timeout = timeout
    }

    // MARK: Probes and the report

    /// `GET /v2/health/live`; throws unless the agent says it is live.
    public func live() throws(AgentAPIError) -> LiveAnswer {
        try get("/v2/health/live", as: LiveAnswer.self)
    }

    /// `GET /v2/health/ready`: the answer whether ready (200) or not (503, with the reasons).
    public func ready() throws(AgentAPIError) -> ReadyAnswer {
        let response = try send("GET", "/v2/health/ready", timeout: probeTimeout)
        guard response.status == 200 || response.status == 503 else { throw error(for: response, request: "GET /v2/health/ready") }
        return try AgentJSON.decode(ReadyAnswer.self, from: response.body, what: "GET /v2/health/ready")
    }

    /// `GET /health`: the detailed report, and the body as received (what `--json` prints).
    public func health() throws(AgentAPIError) -> (report: HealthReport, body: Data) {
        let response = try send("GET", "/health", timeout: probeTimeout)
        guard response.status == 200 else { throw error(for: response, request: "GET /health") }
        return (try AgentJSON.decode(HealthReport.self, from: response.body, what: "GET /health"), response.body)
    }

    /// `GET /v2`: the server's name, version and extensions.
    public func server() throws(AgentAPIError) -> ServerMetadata {
        try get("/v2", as: ServerMetadata.self)
    }

    // MARK: Models

    /// `GET /v2/models`: every manifest the agent knows, enabled or not.
    public func models() throws(AgentAPIError) -> ModelList {
        try get("/v2/models", as: ModelList.self)
    }

    /// `GET /v2/models/{name}`: the model's Open Inference Protocol metadata.
    public func model(_ name: String) throws(AgentAPIError) -> ModelMetadata {
        try get("/v2/models/\(Self.escape(name))", as: ModelMetadata.self, subject: "model '\(name)'")
    }

    /// `GET /v2/models/{name}/ready`: whether the model serves now (200 or 503, both answered).
    public func modelReadiness(_ name: String) throws(AgentAPIError) -> ModelReadiness {
        let request = "GET /v2/models/\(Self.escape(name))/ready"
        let response = try send("GET", "/v2/models/\(Self.escape(name))/ready", timeout: probeTimeout)
        guard response.status == 200 || response.status == 503 else {
            throw error(for: response, request: request, subject: "model '\(name)'")
        }
        return try AgentJSON.decode(ModelReadiness.self, from: response.body, what: request)
    }

    /// `GET /v2/repository/index`: every model with its state, reason and instances.
    public func repositoryIndex() throws(AgentAPIError) -> [ModelStatus] {
        try get("/v2/repository/index", as: [ModelStatus].self)
    }

    // MARK: Inference

    /// `POST /models/{model}/infer` with `{"inputs": inputs, "options": options}` (both JSON objects, as
    /// bytes); the 200 answer as received (the standard result or an export), with the agent's headers
    /// and the latency measured here. Any other status is an error.
    public func infer(model: String, inputs: Data, options: Data = Data("{}".utf8)) throws(AgentAPIError) -> InferAnswer {
        var body = Data(#"{"inputs":"#.utf8)
        body.append(inputs)
        body.append(Data(#","options":"#.utf8))
        body.append(options)
        body.append(Data("}".utf8))
        let path = "/models/\(Self.escape(model))/infer"
        let start = ContinuousClock.now
        let response = try send("POST", path, body: body, timeout: timeout)
        let latency = (ContinuousClock.now - start).inSeconds
        guard response.status == 200 else { throw error(for: response, request: "POST \(path)", subject: "model '\(model)'") }
        return InferAnswer(response: response, latencySeconds: latency)
    }

    /// `POST /v2/models/{model}/infer` (Open Inference Protocol) with the sample description (a JSON
    /// object, as bytes) as the BYTES input `sample` and `parameters` (a JSON object, as bytes) as the request's options.
    public func inferOIP(model: String, sample: Data, parameters: Data = Data("{}".utf8), id: String? = nil) throws(AgentAPIError) -> OIPInferResponse {
        struct Tensor: Encodable { var name = "sample", datatype = "BYTES", shape = [1], data: [String] }
        struct Body: Encodable { var id: String?, inputs: [Tensor] }
        let path = "/v2/models/\(Self.escape(model))/infer"
        var body = try encode(Body(id: id, inputs: [Tensor(data: [String(decoding: sample, as: UTF8.self)])]), what: "POST \(path)")
        // `parameters` goes in as given (a JSON object): the closing brace of the body makes room for it.
        body.removeLast()
        body.append(Data(#","parameters":"#.utf8))
        body.append(parameters)
        body.append(Data("}".utf8))
        let response = try send("POST", path, body: body, timeout: timeout)
        guard response.status == 200 else { throw error(for: response, request: "POST \(path)", subject: "model '\(model)'") }
        return try AgentJSON.decode(OIPInferResponse.self, from: response.body, what: "POST \(path)")
    }

    // MARK: Jobs

    /// `POST /jobs`: queues `inputs` (a JSON object, as bytes) for `model`; the new job's id.
    public func submitJob(model: String, inputs: Data, options: Data = Data("{}".utf8)) throws(AgentAPIError) -> JobAccepted {
        var body = Data("{\"model\":".utf8)
        body.append(try encode(model, what: "POST /jobs"))
        body.append(Data(#","inputs":"#.utf8))
        body.append(inputs)
        body.append(Data(#","options":"#.utf8))
        body.append(options)
        body.append(Data("}".utf8))
        let response = try send("POST", "/jobs", body: body, timeout: probeTimeout)
        guard response.status == 202 else { throw error(for: response, request: "POST /jobs", subject: "model '\(model)'") }
        return try AgentJSON.decode(JobAccepted.self, from: response.body, what: "POST /jobs")
    }

    /// `GET /jobs/{id}`, the result read as `Result`.
    public func job<Result>(_ id: String, result: Result.Type) throws(AgentAPIError) -> Job<Result> {
        try get("/jobs/\(Self.escape(id))", as: Job<Result>.self, subject: "job '\(id)'")
    }

    /// `GET /jobs`: every kept job, without results.
    public func jobs<Result>(result: Result.Type) throws(AgentAPIError) -> JobList<Result> {
        try get("/jobs", as: JobList<Result>.self)
    }

    /// `DELETE /jobs/{id}`: cancels a queued or running job; the job as it is now.
    public func cancelJob<Result>(_ id: String, result: Result.Type) throws(AgentAPIError) -> Job<Result> {
        let path = "/jobs/\(Self.escape(id))"
        let response = try send("DELETE", path, timeout: probeTimeout)
        guard response.status == 202 else { throw error(for: response, request: "DELETE \(path)", subject: "job '\(id)'") }
        return try AgentJSON.decode(Job<Result>.self, from: response.body, what: "DELETE \(path)")
    }

    // MARK: SSH

    /// `GET /v2/ssh/host-keys`: the keys sshd serves, as the agent reports them (checking them is the caller's).
    public func hostKeys() throws(AgentAPIError) -> HostKeyList {
        try get("/v2/ssh/host-keys", as: HostKeyList.self)
    }

    // MARK: Plumbing

    /// Sends one request with the token; any status comes back.
    public func send(_ method: String, _ path: String, body: Data? = nil, timeout: Duration) throws(AgentAPIError) -> AgentResponse {
        var headers: [(name: String, value: String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token.value)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try transport.send(AgentRequest(method: method, path: path, headers: headers, body: body, timeout: timeout))
    }

    /// The probes and listings are small and quick: they wait at most 30 s even when inference may wait longer.
    private var probeTimeout: Duration { min(timeout, .seconds(30)) }

    private func get<T: Decodable>(_ path: String, as type: T.Type, subject: String? = nil) throws(AgentAPIError) -> T {
        let response = try send("GET", path, timeout: probeTimeout)
        guard response.status == 200 else { throw error(for: response, request: "GET \(path)", subject: subject) }
        return try AgentJSON.decode(type, from: response.body, what: "GET \(path)")
    }

    private func encode(_ value: some Encodable, what: String) throws(AgentAPIError) -> Data {
        do { return try AgentJSON.encoder().encode(value) } catch {
            throw AgentAPIError(.usage, "\(what): the request cannot be written as JSON: \(error)")
        }
    }

    /// An error status as an ``AgentAPIError`` whose message has the agent's own `{"error": ...}` text
    /// (or the start of its body) and never the token.
    public func error(for response: AgentResponse, request: String, subject: String? = nil) -> AgentAPIError {
        let agentText = (try? AgentJSON.decoder().decode(ErrorBody.self, from: response.body))?.error
            ?? String(decoding: response.body.prefix(300), as: UTF8.self)
        var detail = agentText.isEmpty ? "" : ": \(agentText)"
        if let token, !token.value.isEmpty {
            // An agent (or anything posing as one) could echo the header back: it never reaches a message.
            detail = detail.replacing(token.value, with: "<token>")
        }
        let who = subject ?? "\(label) (\(request))"
        let status = response.status
        switch status {
        case 401, 403:
            let why = token.map { "the token was refused (\($0.source))" }
                ?? "no token was sent" + (tokenRule.map { " (give one with \($0.help))" } ?? "")
            return AgentAPIError(.unauthorized, "\(label) answered \(status): \(why)\(detail)", status: status)
        case 404:
            return AgentAPIError(.notFound, "\(who): not found (404)\(detail)", status: status)
        case 429:
            let retry = response.headers["retry-after"]
            return AgentAPIError(.overloaded, "\(who): the queue is full (429)\(detail)\(retry.map { "; retry after \($0) s" } ?? "")",
                                 status: status, retryAfter: retry)
        case 503:
            return AgentAPIError(.unavailable, "\(who): not ready (503)\(detail)", status: status, retryAfter: response.headers["retry-after"])
        case 504:
            return AgentAPIError(.timeout, "\(who): timed out on the agent (504)\(detail)", status: status)
        case 400, 413, 422:
            return AgentAPIError(.badRequest, "\(who): the agent rejected the request (\(status))\(detail)", status: status)
        default:
            return AgentAPIError(.serverError, "\(who): the agent answered \(status)\(detail)", status: status)
        }
    }

    /// A name as one path segment: letters, digits and `-._~` as they are, everything else percent-encoded.
    public static func escape(_ name: String) -> String {
        var escaped = ""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                escaped.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                escaped += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return escaped
    }
}

/// One successful native `POST /models/{name}/infer`: the body as received and what the agent said about it.
public struct InferAnswer: Sendable {
    /// The standard result (docs/result-schema.md) or the asked-for export, exactly as received.
    public var body: Data
    /// Seconds from sending the request to the end of the answer, measured by the client.
    public var latencySeconds: Double
    /// `X-PodAgent-GPU-Memory-MiB`: what the worker held afterwards, when the agent knows it.
    public var gpuMemoryMiB: Double?
    /// `X-PodAgent-Attempts`: 1 when the first attempt succeeded.
    public var attempts: Int?
    /// `X-Request-Id`.
    public var requestID: String?

    public init(response: AgentResponse, latencySeconds: Double) {
        body = response.body
        self.latencySeconds = latencySeconds
        gpuMemoryMiB = response.headers["x-podagent-gpu-memory-mib"].flatMap(Double.init)
        attempts = response.headers["x-podagent-attempts"].flatMap { Int($0) }
        requestID = response.headers["x-request-id"]
    }
}
