import AgentAPI
import Foundation
import Testing
import TestProcesses

/// AgentAPI's own HTTP/1.1 client against a real server on loopback that sends well-formed and broken answers.
@Suite("SocketTransport: framing, deadlines, size limit, hostile answers")
struct SocketTransportTests {
    func get(_ server: ScriptedServer, _ path: String = "/x", timeout: Duration = .seconds(10), limit: Int = 1 << 20,
             headers: [(name: String, value: String)] = [], body: Data? = nil) throws(AgentAPIError) -> AgentResponse {
        var transport = try SocketTransport(baseURL: server.baseURL)
        transport.maxResponseBytes = limit
        return try transport.send(AgentRequest(method: body == nil ? "GET" : "POST", path: path, headers: headers, body: body, timeout: timeout))
    }

    @Test func contentLengthChunkedInterimAndUntilClose() throws {
        let server = try ScriptedServer([
            // Content-Length: answered as soon as the body is complete, though the server keeps the connection.
            .whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Custom: a: b\r\n\r\nhello", hold: 30),
            // Chunked, with an extension, split across writes, and a trailer.
            ScriptedServer.Answer(parts: [("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki", 0.05),
                                          ("\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n", 0)], hold: 30),
            // An interim 100 Continue first.
            .whole("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}"),
            // Neither: the body runs to the end of the connection.
            .whole("HTTP/1.0 200 OK\r\n\r\nto the end"),
        ])
        defer { server.stop() }
        let first = try get(server)
        #expect(first.status == 200 && first.body == Data("hello".utf8) && first.headers["x-custom"] == "a: b")
        let chunked = try get(server)
        #expect(chunked.status == 201 && chunked.body == Data("Wikipedia".utf8))
        let interim = try get(server)
        #expect(interim.status == 503 && interim.body == Data("{}".utf8))
        let untilClose = try get(server)
        #expect(untilClose.body == Data("to the end".utf8))
    }

    @Test func theRequestIsWhatTheAgentExpects() throws {
        let server = try ScriptedServer([.whole("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")])
        defer { server.stop() }
        var transport = try SocketTransport(baseURL: "http://127.0.0.1:\(server.port)/behind/proxy/")
        transport.maxResponseBytes = 1024
        let answer = try transport.send(AgentRequest(method: "POST", path: "/models/Demo/infer", headers: [("Authorization", "Bearer t0k")],
                                                     body: Data(#"{"a":1}"#.utf8), timeout: .seconds(10)))
        #expect(answer.status == 204 && answer.body.isEmpty)
        let request = try #require(server.requests.first)
        #expect(request.hasPrefix("POST /behind/proxy/models/Demo/infer HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n"), "\(request)")
        #expect(request.contains("\r\nAuthorization: Bearer t0k\r\n") && request.contains("\r\nContent-Length: 7\r\n"))
        #expect(request.contains("\r\nConnection: close\r\n") && request.hasSuffix("\r\n\r\n{\"a\":1}"))
        // A value with a line break would smuggle a header: refused before anything is sent.
        let smuggled = #expect(throws: AgentAPIError.self) {
            _ = try transport.send(AgentRequest(method: "GET", path: "/", headers: [("X-A", "b\r\nX-Injected: 1")], timeout: .seconds(5)))
        }
        #expect(smuggled?.code == .usage)
    }

    @Test func aSilentOrTricklingAgentEndsAtTheDeadline() throws {
        let server = try ScriptedServer([
            .whole("", hold: 30),
            // Headers at once, then the body one byte at a time, slower than the deadline allows.
            ScriptedServer.Answer(parts: [("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", 0)] + Array(repeating: ("x", 0.5), count: 50)),
        ])
        defer { server.stop() }
        let silent = #expect(throws: AgentAPIError.self) { try get(server, "/silent", timeout: .seconds(1)) }
        #expect(silent?.code == .timeout && silent?.message.contains("GET /silent on \(server.baseURL): no answer within 1 s") == true,
                "\(silent?.message ?? "")")
        let trickle = #expect(throws: AgentAPIError.self) { try get(server, "/trickle", timeout: .seconds(2)) }
        #expect(trickle?.code == .timeout)
    }

    @Test func brokenAnswersAreErrorsNamingWhatWasWrong() throws {
        let server = try ScriptedServer([
            .whole("HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n" + String(repeating: "y", count: 4096)),
            .whole("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
            .whole("SSH-2.0-OpenSSH_9.6\r\n\r\n"),
            .whole("HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n"),
            .whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"),
            .whole("HTTP/1.1 200 OK\r\nContent-Le"),
        ])
        defer { server.stop() }
        func failure(_ limit: Int = 1 << 20) -> AgentAPIError? {
            do { _ = try get(server, limit: limit); return nil } catch { return error }
        }
        #expect(failure(1024)?.message.contains("larger than 1024 bytes") == true)
        #expect(failure()?.message.contains("closed in the middle of the answer") == true)
        #expect(failure()?.message.contains("not an HTTP answer (status line 'SSH-2.0-OpenSSH_9.6')") == true)
        #expect(failure()?.message.contains("a bad Content-Length '-3'") == true)
        #expect(failure()?.message.contains("a bad chunk size 'zz'") == true)
        let cut = failure()
        #expect(cut?.code == .transport && cut?.message.contains("before a whole HTTP answer") == true, "\(cut?.message ?? "")")
    }

    @Test func nothingListeningAndUnusableURLs() throws {
        let port = Shell.freePort()
        let refused = #expect(throws: AgentAPIError.self) {
            _ = try SocketTransport(baseURL: "http://127.0.0.1:\(port)").send(AgentRequest(method: "GET", path: "/", timeout: .seconds(5)))
        }
        #expect(refused?.code == .transport && refused?.message == "cannot connect to http://127.0.0.1:\(port): Connection refused")
        #expect(refused?.programExit.rawValue == 1)
        for bad in ["127.0.0.1:8080", "ftp://h", "http://", "http://h:0", "http://h:99999", "http://user:pw@h", "http://h/a?b=1", "http://[::1"] {
            let error = #expect(throws: AgentAPIError.self, "\(bad)") { _ = try SocketTransport(baseURL: bad) }
            #expect(error?.code == .usage && error?.programExit.rawValue == 2 && error?.message.contains(bad) == true)
        }
        let https = #expect(throws: AgentAPIError.self) { _ = try SocketTransport(baseURL: "https://agent.example") }
        #expect(https?.message.contains("libcurl") == true)
    }

    @Test func agentURLsAreTakenApartAsGiven() throws {
        let ipv6 = try AgentURL("http://[::1]:9000/")
        #expect(ipv6.host == "::1" && ipv6.port == 9000 && ipv6.prefix == "" && ipv6.description == "http://[::1]:9000" && ipv6.isLoopback)
        let proxied = try AgentURL("HTTPS://abc-8080.proxy.runpod.net/agent//")
        #expect(proxied.scheme == "https" && proxied.port == 443 && proxied.prefix == "/agent" && !proxied.isLoopback)
        #expect(try AgentURL("http://localhost").port == 80)
        #expect(try AgentURL("http://127.0.0.2:1").isLoopback)
    }
}
