import Foundation

@testable import Agent

/// GETs `url` (`http://host:port/path`) through AgentAPI's plain-socket transport, whatever the status.
func blockingGet(_ url: String, token: String? = nil, timeout: Duration = .seconds(10)) throws(AgentAPIError) -> AgentResponse {
    let afterScheme = url.range(of: "://").map(\.upperBound) ?? url.startIndex
    let pathStart = url[afterScheme...].firstIndex(of: "/") ?? url.endIndex
    let headers = token.map { [(name: "Authorization", value: "Bearer \($0)")] } ?? []
    let path = url[pathStart...].isEmpty ? "/" : String(url[pathStart...])
    return try SocketTransport(baseURL: String(url[..<pathStart])).send(AgentRequest(method: "GET", path: path, headers: headers, timeout: timeout))
}

/// GETs off the cooperative pool: the transport blocks, so each call gets a thread.
func httpGet(_ url: String, token: String? = nil, timeout: Duration = .seconds(10)) async throws -> AgentResponse {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            do {
                continuation.resume(returning: try blockingGet(url, token: token, timeout: timeout))
            } catch {
                continuation.resume(throwing: error)
            }
        }.start()
    }
}

/// The response body as a JSON object.
func jsonObject(_ response: AgentResponse) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
        throw AgentError(.invalidArgument, "not a JSON object: \(String(decoding: response.body, as: UTF8.self))")
    }
    return object
}

/// A GPU probe with fixed answers: no GPU exists on the test machines, so tests that need one fake it.
struct FakeGPUProbe: GPUProbe {
    var report: GPUReport
    func read() async -> GPUReport { report }
}
