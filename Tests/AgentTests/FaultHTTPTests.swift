import Foundation
import Logging
import Testing

@testable import Agent

/// Issue #13, items 6, 9 and 11: big uploads, slow and idle clients, hostile input. Real podagent
/// processes, real sockets on loopback.
@Suite("Faults: large uploads, slow clients, hostile input (real podagent)", .serialized)
struct FaultHTTPTests {
    typealias Agent = FaultAgent

    /// Asks `/v2/health/live` every 100 ms until `stop`; returns each answer's status (0: no answer within 1 s).
    static func watchLiveness(port: Int, until stop: @escaping @Sendable () -> Bool) async throws -> [Int] {
        try await onThread {
            var statuses: [Int] = []
            while !stop() {
                let status = (try? RawConnection.exchange(port: port, "GET", "/v2/health/live", timeout: 1).status) ?? 0
                statuses.append(status)
                usleep(100_000)
            }
            return statuses
        }
    }

    @Test("liveness answers within 1 s while 4 clients upload 60 MiB each; large bodies over the cap get 429")
    func livenessDuringLargeUploads() async throws {
        let root = try TestSupport.temporaryDirectory("uploads-root")
        let agent = try await Agent.start(stateDir: try TestSupport.temporaryDirectory("uploads"), yaml: "api:\n  data_roots: [\(root)]\n")
        try await Agent.waitFor(agent, "/v2/health/ready")
        let port = agent.port
        // 60 MiB bodies: 45 MiB of data as base64, the way a client sends an image it has no shared path for.
        let payload = Data(repeating: 0xA5, count: 45 << 20).base64EncodedString()
        let body = try jsonData(["inputs": ["sample_id": "big", "img_path": ["base64": payload, "filename": "frame.bin"]]])
        #expect(body.count > 59 << 20)
        let done = ManagedFlag()
        let liveness = Task { try await Self.watchLiveness(port: port) { done.value } }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await onThread {
                        try RawConnection.exchange(port: port, "POST", "/models/Demo/infer", body: body, headers: ["Content-Type": "application/json"], timeout: 120).status
                    }
                }
            }
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            return statuses
        }
        done.value = true
        let live = try await liveness.value
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 429 }, "upload answers: \(statuses)")
        #expect(statuses.contains(200), "at least the admitted uploads are served: \(statuses)")
        #expect(live.count >= 3 && live.allSatisfy { $0 == 200 }, "liveness during the uploads (0 = no answer within 1 s): \(live)")
        // Over the cap (api.max_large_bodies, 2 by default), the rest are 429 with Retry-After.
        #expect(statuses.filter { $0 == 429 }.count <= 2)
        #expect(await agent.stop() == .exited(0))
    }

    @Test("a large body over api.max_large_bodies is 429 with Retry-After while the others are received")
    func largeBodyCap() async throws {
        let agent = try await Agent.start(stateDir: try TestSupport.temporaryDirectory("cap"), environment: ["PODAGENT_MAX_LARGE_BODIES": "1"])
        try await Agent.waitFor(agent, "/v2/health/ready")
        let port = agent.port
        // The first large body is announced and half sent: it holds the only large-body slot.
        let holder = try await onThread { () -> RawConnection in
            let connection = try RawConnection(port: port)
            try connection.send("POST /models/Demo/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(8 << 20)\r\n\r\n")
            try connection.send(Data(repeating: 0x20, count: 1 << 20))
            return connection
        }
        try await Task.sleep(for: .milliseconds(300))
        let second = try await Agent.send(agent, "POST", "/models/Demo/infer", body: Data(repeating: 0x20, count: 2 << 20))
        #expect(second.status == 429 && second.headers["retry-after"] != nil, "\(second.status) \(second.text)")
        #expect(second.text.contains("api.max_large_bodies"))
        // Small bodies are never held back.
        let small = try await Agent.send(agent, "POST", "/models/Demo/infer", json: ["inputs": ["sample_id": "small"]])
        #expect(small.status == 200, "\(small.text)")
        _ = holder
        #expect(await agent.stop() == .exited(0))
    }

    @Test("300 slow connections under a 256-descriptor limit: liveness still answers; header and idle timeouts close slow and idle clients")
    func slowClientsCannotStarveTheServer() async throws {
        let agent = try await Agent.start(
            stateDir: try TestSupport.temporaryDirectory("slow"),
            environment: ["PODAGENT_HTTP_HEADER_TIMEOUT": "2", "PODAGENT_HTTP_IDLE_TIMEOUT": "3"],
            wrapper: ["/usr/bin/prlimit", "--nofile=256:256", "--"])
        try await Agent.waitFor(agent, "/v2/health/ready")
        let port = agent.port
        // 300 clients that start a request head and never finish it.
        let slow = try await onThread { () -> [RawConnection] in
            var connections: [RawConnection] = []
            for _ in 0..<300 {
                guard let connection = try? RawConnection(port: port, timeout: 2) else { continue }
                try? connection.send("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n")
                connections.append(connection)
            }
            return connections
        }
        #expect(slow.count >= 250)
        for _ in 0..<10 {
            let status = try? await onThread { try RawConnection.exchange(port: port, "GET", "/v2/health/live", timeout: 1).status }
            #expect(status == 200, "liveness did not answer within 1 s with 300 slow clients connected")
        }
        // A slow head is cut off (408) after http.header_timeout, even trickling a byte a second.
        let trickle = try await onThread { () -> Bool in
            let connection = try RawConnection(port: port)
            try connection.send("GET /v2/health/live HTTP/1.1\r\n")
            for _ in 0..<20 {
                if (try? connection.send("X")) == nil { return true }
                if connection.waitClosed(timeout: 1) { return true }
            }
            return false
        }
        #expect(trickle, "a head trickling in byte by byte was never cut off")
        // An idle keep-alive connection is closed after http.idle_timeout.
        let idleClosed = try await onThread { () -> Bool in
            let connection = try RawConnection(port: port)
            try connection.request("GET", "/v2/health/live")
            _ = try connection.readResponse()
            return connection.waitClosed(timeout: 20)
        }
        #expect(idleClosed, "an idle keep-alive connection stayed open")
        _ = slow
        #expect(agent.child.exitStatus == nil)
        #expect(await agent.stop() == .exited(0))
    }

    @Test("at http.max_connections with every connection serving a request, a new one gets 503; it is served once they go")
    func connectionCeiling() async throws {
        let agent = try await Agent.start(stateDir: try TestSupport.temporaryDirectory("ceiling"), environment: ["PODAGENT_HTTP_MAX_CONNECTIONS": "8"])
        try await Agent.waitFor(agent, "/v2/health/ready")
        let port = agent.port
        let body = try jsonData(["inputs": ["sample_id": "busy"], "options": ["infer_time_s": 60]])
        // Eight connections, each in the middle of a request (one runs, seven wait in the model's queue).
        // A probe that comes before a head was read may close that connection to make room (it is
        // waiting, not serving): then a new one takes its place, until the ninth is turned away.
        @Sendable func busyConnection() throws -> RawConnection {
            let connection = try RawConnection(port: port)
            try connection.request("POST", "/models/Demo/infer", body: body, headers: ["Content-Type": "application/json"])
            return connection
        }
        let (busy, turnedAway) = try await onThread { () -> ([RawConnection], RawConnection.Response?) in
            var busy = try (0..<8).map { _ in try busyConnection() }
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let probe = try? RawConnection.exchange(port: port, "GET", "/v2/health/live", timeout: 2)
                if probe?.status == 503 { return (busy, probe) }
                busy = try busy.map { $0.waitClosed(timeout: 0.05) ? try busyConnection() : $0 }
                usleep(100_000)
            }
            return (busy, nil)
        }
        #expect(turnedAway?.status == 503 && turnedAway?.headers["retry-after"] == "1", "the ninth connection was not turned away: \(agent.log.suffix(1500))")
        // The clients go (their requests are cancelled): connections are served again.
        for connection in busy { shutdown(connection.fd, Int32(SHUT_RDWR)) }
        try await Agent.waitFor(agent, "/v2/health/live")
        #expect(await agent.stop() == .exited(0))
    }

    @Test("hostile input: an OIP id with a newline, jobs nested 510 deep, NaN options get short, clear 400s")
    func hostileInput() async throws {
        let agent = try await Agent.start(stateDir: try TestSupport.temporaryDirectory("hostile"), environment: ["PODAGENT_LOG_FORMAT": "text"])
        try await Agent.waitFor(agent, "/v2/health/ready")
        // A newline in the OIP id would forge a line of the text log.
        let forged = "x\n2030-01-01T00:00:00+0000 critical podagent : FORGED LINE"
        let oip = try await Agent.send(agent, "POST", "/v2/models/Demo/infer", json: [
            "id": forged, "inputs": [["name": "sample", "datatype": "BYTES", "shape": [1], "data": [#"{"sample_id": "s"}"#]]],
        ])
        #expect(oip.status == 400 && oip.text.contains("id:"), "\(oip.status) \(oip.text)")
        #expect(!agent.log.components(separatedBy: "\n").contains { $0.hasPrefix("2030-01-01") }, "a forged log line")
        // Nested 510 deep: a short 400 naming the problem, not a 500 with an internal dump.
        let deep = String(repeating: "[", count: 510) + String(repeating: "]", count: 510)
        let nested = try await Agent.send(agent, "POST", "/jobs", body: Data(#"{"model": "Demo", "inputs": {"sample_id": "s", "x": \#(deep)}}"#.utf8))
        #expect(nested.status == 400, "\(nested.status) \(nested.text.prefix(300))")
        #expect(nested.body.count < 1024 && nested.text.contains("nesting deeper than"), "\(nested.body.count) bytes: \(nested.text.prefix(300))")

        // NaN and Infinity are named as what they are.
        for literal in ["NaN", "Infinity"] {
            let answer = try await Agent.send(agent, "POST", "/models/Demo/infer", body: Data(#"{"inputs": {"sample_id": "s"}, "options": {"score_threshold": \#(literal)}}"#.utf8))
            #expect(answer.status == 400, "\(answer.text)")
            #expect(!answer.text.contains("got a number") && answer.text.contains(literal), "\(answer.text)")
        }
        #expect(await agent.stop() == .exited(0))
    }
}

@Suite("Faults: the text log keeps each entry on one line")
struct OneLineLogTests {
    @Test func controlCharactersInMessagesAndMetadataAreEscaped() {
        #expect(OneLineLogHandler.escape("a\nb\r\u{1B}[31m\tc") == "a\\nb\\r\\u{1B}[31m\\tc")
        #expect(OneLineLogHandler.escape("plain ünïcode") == "plain ünïcode")
        let value = OneLineLogHandler.escape(.array([.string("x\ny"), .dictionary(["k": .string("\u{7F}")])]))
        guard case .array(let items) = value, case .string(let first) = items[0], case .dictionary(let entries) = items[1],
              case .string(let nested)? = entries["k"] else {
            Issue.record("unexpected shape: \(value)")
            return
        }
        #expect(first == "x\\ny" && nested == "\\u{7F}")
    }

    /// Metadata set on a logger (Hummingbird sets a request id on every request's) is kept as set and
    /// escaped only when a line is written, merged with the entry's own (the entry's win).
    @Test func metadataSetOnTheLoggerIsEscapedWhenALineIsWritten() {
        let capture = LogCapture()
        var handler = OneLineLogHandler(LogCapture.CaptureHandler(label: "t", capture: capture))
        handler[metadataKey: "request"] = .string("id\n1")
        handler.metadata["model"] = .stringConvertible(12)
        #expect(handler[metadataKey: "request"] == .string("id\n1"))
        handler.log(event: LogEvent(level: .error, message: "a\nb", metadata: ["model": .string("x\ty")], source: "t", file: "f", function: "g", line: 1))
        handler.log(event: LogEvent(level: .error, message: "c", metadata: nil, source: "t", file: "f", function: "g", line: 2))
        #expect(capture.text == "error a\\nb model=x\\ty request=id\\n1\nerror c model=12 request=id\\n1")
    }
}

/// A flag one thread sets and another reads.
final class ManagedFlag: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var stored = false
    var value: Bool {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
