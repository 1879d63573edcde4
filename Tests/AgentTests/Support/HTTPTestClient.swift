import Foundation

@testable import Agent

/// GETs off the cooperative pool: LocalHTTPClient blocks, so each call gets a thread.
func httpGet(_ url: String, token: String? = nil, timeout: Duration = .seconds(10)) async throws -> LocalHTTPClient.Response {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            do {
                continuation.resume(returning: try LocalHTTPClient(timeout: timeout, bearerToken: token).get(url))
            } catch {
                continuation.resume(throwing: error)
            }
        }.start()
    }
}

/// The response body as a JSON object.
func jsonObject(_ response: LocalHTTPClient.Response) throws -> [String: Any] {
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
