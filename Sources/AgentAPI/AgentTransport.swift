#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One HTTP request to the agent, as a transport sends it.
public struct AgentRequest: Sendable {
    public var method: String
    /// Path and query, percent-encoded (`/v2/repository/index`), joined to the transport's base URL.
    public var path: String
    /// Extra header fields (`Authorization`, `Content-Type`); values are never logged or put in errors.
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// The whole exchange's deadline: connecting, sending and reading the answer.
    public var timeout: Duration

    public init(method: String, path: String, headers: [(name: String, value: String)] = [], body: Data? = nil, timeout: Duration) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// The agent's answer: any status (mapping statuses to errors is ``AgentClient``'s job).
public struct AgentResponse: Sendable {
    public var status: Int
    /// Header names lower-cased; a repeated header keeps its last value.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// How requests reach an agent. Blocking: one request per call, bounded by the request's timeout.
///
/// ``SocketTransport`` speaks plain HTTP/1.1 (`http://`: the agent inside the pod, a tunnel's local end);
/// podctl's libcurl transport (Controller's `CurlAgentTransport`) adds verified HTTPS (`podctl trust`
/// through RunPod's proxy). Nothing here knows about tokens: ``AgentClient`` adds them.
public protocol AgentTransport: Sendable {
    /// The agent's base URL, for messages (`http://127.0.0.1:8080`).
    var baseURL: String { get }
    /// Sends `request` and returns the answer, whatever its status.
    /// - Throws: ``AgentAPIError`` `.transport` when nothing answered or the answer was not HTTP,
    ///   `.timeout` when it did not come within `request.timeout`.
    func send(_ request: AgentRequest) throws(AgentAPIError) -> AgentResponse
}
