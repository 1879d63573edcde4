import AgentAPI
import CurlClient
import Foundation
import PodAgentExtras

/// The agent's API over libcurl: what reaches an agent by https (`podctl trust` through RunPod's proxy),
/// with TLS always verified (the system's CAs, or `caFile`). Plain http to a tunnel or this machine goes
/// through AgentAPI's ``SocketTransport`` instead.
public struct CurlAgentTransport: AgentTransport {
    public let url: AgentURL
    /// PEM certificates to trust instead of the system's (a private CA, a self-signed certificate).
    public var caFile: String?
    /// The largest answer read; a larger one is an error, never returned cut.
    public var maxResponseBytes: Int

    public init(baseURL: String, caFile: String? = nil, maxResponseBytes: Int = 16 << 20) throws(AgentAPIError) {
        url = try AgentURL(baseURL)
        self.caFile = caFile
        self.maxResponseBytes = maxResponseBytes
    }

    public var baseURL: String { url.description }

    public func send(_ request: AgentRequest) throws(AgentAPIError) -> AgentResponse {
        // libcurl takes whole seconds; a deadline under one second still gets one.
        let seconds = max(1, Int(request.timeout.inSeconds.rounded(.up)))
        let client = HTTPClient(timeoutSeconds: seconds, caFile: caFile, maxBodyBytes: maxResponseBytes)
        do {
            let response = try client.send(method: request.method, url: baseURL + request.path,
                                           headers: request.headers.map { "\($0.name): \($0.value)" }, body: request.body)
            return AgentResponse(status: response.status, headers: response.headers, body: response.body)
        } catch {
            throw AgentAPIError(error.kind == .timeout ? .timeout : error.kind == .setup ? .usage : .transport, error.message)
        }
    }
}
