import AgentAPI
import Foundation
import Testing

/// Each error status mapped once, with the agent's own text, and never the token.
@Suite("AgentClient: statuses to errors")
struct AgentClientErrorTests {
    static func answer(_ status: String, _ body: String, headers: String = "") -> ScriptedServer.Answer {
        .whole("HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\(headers)\r\n\(body)")
    }

    @Test func everyStatusHasItsCodeExitAndMessage() throws {
        let token = try AgentToken("tok-\(UUID().uuidString)", source: "environment variable PODCTL_TOKEN")
        let server = try ScriptedServer([
            Self.answer("401 Unauthorized", #"{"error":"this route needs the API token"}"#),
            Self.answer("401 Unauthorized", #"{"error":"wrong token"}"#),
            Self.answer("404 Not Found", #"{"error":"model 'Nope' is not known (known: Demo)"}"#),
            Self.answer("429 Too Many Requests", #"{"error":"queue full"}"#, headers: "Retry-After: 3\r\n"),
            Self.answer("503 Service Unavailable", #"{"error":"model 'Demo' is not ready: loading"}"#),
            Self.answer("504 Gateway Timeout", #"{"error":"timed out after 5 s"}"#),
            Self.answer("413 Content Too Large", #"{"error":"the body is larger than 64 MiB"}"#),
            Self.answer("500 Internal Server Error", "<html>boom \(token.value)</html>"),
            Self.answer("200 OK", #"{"models": "not a list"}"#),
        ])
        defer { server.stop() }
        let transport = try SocketTransport(baseURL: server.baseURL)
        let anonymous = AgentClient(transport: transport, token: nil, tokenRule: .podctl, timeout: .seconds(10))
        let client = AgentClient(transport: transport, token: token, timeout: .seconds(10))
        func failure(_ client: AgentClient, _ call: (AgentClient) throws -> Void) -> AgentAPIError? {
            do { try call(client); return nil } catch { return error as? AgentAPIError }
        }
        let sample = Data(#"{"sample_id":"s1"}"#.utf8)
        let noToken = failure(anonymous) { _ = try $0.health() }
        #expect(noToken?.code == .unauthorized && noToken?.programExit.rawValue == 3)
        #expect(noToken?.message == "the agent answered 401: no token was sent (give one with --token-file, else PODCTL_TOKEN, else the pod's token_file): this route needs the API token")
        let refused = failure(client) { _ = try $0.health() }
        #expect(refused?.message == "the agent answered 401: the token was refused (environment variable PODCTL_TOKEN): wrong token")
        let missing = failure(client) { _ = try $0.infer(model: "Nope", inputs: sample) }
        #expect(missing?.code == .notFound && missing?.programExit.rawValue == 4 && missing?.message.hasPrefix("model 'Nope': not found (404): ") == true)
        let busy = failure(client) { _ = try $0.infer(model: "Demo", inputs: sample) }
        #expect(busy?.code == .overloaded && busy?.programExit.rawValue == 5 && busy?.retryAfter == "3")
        #expect(busy?.message == "model 'Demo': the queue is full (429): queue full; retry after 3 s")
        let loading = failure(client) { _ = try $0.infer(model: "Demo", inputs: sample) }
        #expect(loading?.code == .unavailable && loading?.programExit.rawValue == 5)
        let slow = failure(client) { _ = try $0.infer(model: "Demo", inputs: sample) }
        #expect(slow?.code == .timeout && slow?.programExit.rawValue == 6)
        let large = failure(client) { _ = try $0.infer(model: "Demo", inputs: sample) }
        #expect(large?.code == .badRequest && large?.programExit.rawValue == 1 && large?.message.contains("larger than 64 MiB") == true)
        // The agent (or whatever answers in its place) echoes the token: the message never carries it.
        let echoed = failure(client) { _ = try $0.repositoryIndex() }
        #expect(echoed?.code == .serverError && echoed?.message.contains(token.value) == false && echoed?.message.contains("<token>") == true)
        let wrongShape = failure(client) { _ = try $0.models() }
        #expect(wrongShape?.code == .invalidAnswer && wrongShape?.message.contains("GET /v2/models") == true, "\(wrongShape?.message ?? "")")
        // The token went only into the Authorization header of the requests that had one.
        let requests = server.requests
        #expect(requests.count == 9 && !requests[0].contains("Authorization") && requests[1].contains("Authorization: Bearer \(token.value)\r\n"))
        #expect(requests[2].hasPrefix("POST /models/Nope/infer HTTP/1.1") && requests[2].hasSuffix(#"{"inputs":{"sample_id":"s1"},"options":{}}"#))
    }

    @Test func namesArePercentEncodedAsOnePathSegment() {
        #expect(AgentClient.escape("Demo") == "Demo")
        #expect(AgentClient.escape("a/b c?") == "a%2Fb%20c%3F")
        #expect(AgentClient.escape("é") == "%C3%A9")
    }
}
