import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import Agent

@Suite("HTTP API: bearer token, open probes, loopback without a token, no token in logs")
struct APIAuthTests {
    /// A concrete URI for a route path: parameters filled in.
    static func uri(_ path: String) -> String {
        path.replacingOccurrences(of: "{name}", with: "PETR").replacingOccurrences(of: "{id}", with: "0f0e0d0c-0000-4000-8000-000000000000")
            .replacingOccurrences(of: "{version}", with: "1.0.0")
    }

    static let openPaths: Set<String> = ["/v2/health/live", "/v2/health/ready"]

    @Test("every route of the router: 401 without or with a wrong token, not 401 with the right one; probes stay open", arguments: [false, true])
    func everyRouteNeedsTheToken(live: Bool) async throws {
        // No model plugin: the inference routes answer 503, so no request here changes anything.
        try await withHarness(models: nil) { harness in
            let token = try #require(harness.token)
            let routes = harness.agent.buildRouter().routes.map { (path: $0.path.description, method: $0.method) }
            #expect(routes.count > 30, "the router lists its routes, the 405 answers included")
            #expect(routes.contains { $0.path == "/models/{name}/infer" })
            #expect(routes.contains { $0.path == "/jobs/{id}" })
            try await harness.test(live: live) { client in
                for route in routes {
                    let uri = Self.uri(route.path)
                    let what = "\(route.method) \(uri)"
                    let open = Self.openPaths.contains(uri)
                    try await client.execute(uri: uri, method: route.method) { response in
                        if open {
                            #expect(response.status != .unauthorized, "\(what) is open but answered 401")
                        } else {
                            #expect(response.status == .unauthorized, "\(what) without a token: \(response.status)")
                            #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(what)")
                            #expect(response.body.object["error"] is String, "\(what)")
                        }
                    }
                    try await client.execute(uri: uri, method: route.method, headers: [.authorization: "Bearer wrong-\(token)"]) { response in
                        #expect(open || response.status == .unauthorized, "\(what) with a wrong token: \(response.status)")
                    }
                    try await client.execute(uri: uri, method: route.method, headers: [.authorization: "Basic \(token)"]) { response in
                        #expect(open || response.status == .unauthorized, "\(what) with another scheme: \(response.status)")
                    }
                    try await client.execute(uri: uri, method: route.method, headers: [.authorization: "Bearer \(token)"]) { response in
                        #expect(response.status != .unauthorized, "\(what) with the right token: \(response.status)")
                    }
                }
                // A path no route serves is not a way to probe without the token either.
                try await client.execute(uri: "/no/such/route", method: .get) { response in
                    #expect(response.status == .unauthorized)
                }
            }
        }
    }

    @Test("without any model plugin the inference routes answer 503 'inference is not enabled'")
    func inferenceDisabled() async throws {
        try await withHarness(models: nil) { harness in
            try await harness.test(live: false) { client in
                for (uri, method) in [("/models/PETR/infer", HTTPRequest.Method.post), ("/v2/models/PETR/ready", .get), ("/v2/models/PETR/infer", .post),
                                      ("/v2/repository/index", .get), ("/v2/repository/models/PETR/load", .post), ("/jobs", .get), ("/jobs", .post)] {
                    try await client.execute(uri: uri, method: method, headers: harness.jsonHeaders, body: try jsonBody(["inputs": [:]])) { response in
                        #expect(response.status == .serviceUnavailable, "\(method) \(uri)")
                        #expect(response.body.object["error"] as? String == "inference is not enabled", "\(method) \(uri)")
                    }
                }
                // The model metadata routes keep answering: no model, and PETR is not one.
                try await client.execute(uri: "/v2/models", method: .get, headers: harness.auth) { response in
                    #expect(response.status == .ok)
                    #expect((response.body.object["models"] as? [Any])?.isEmpty == true)
                }
                try await client.execute(uri: "/v2/models/PETR", method: .get, headers: harness.auth) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }

    @Test("/metrics needs the token unless api.metrics_public")
    func metricsPublic() async throws {
        try await withHarness(models: nil) { harness in
            try await harness.test(live: false) { client in
                try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            }
        }
        try await withHarness(models: nil, configure: { $0.api.metricsPublic = true }) { harness in
            try await harness.test(live: false) { client in
                try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/health", method: .get) { #expect($0.status == .unauthorized) }
            }
        }
    }

    @Test("constant-time comparison still tells equal from different tokens of every length")
    func tokenComparison() throws {
        let token = try APIToken("  abc123\n", source: "test")
        #expect(token.matches("abc123"))
        #expect(!token.matches("abc12"))
        #expect(!token.matches("abc1234"))
        #expect(!token.matches("abd123"))
        #expect(!token.matches(""))
        #expect("\(token)" == "<redacted token>")
        #expect(throws: AgentError.self) { try APIToken(" \n", source: "test") }
    }

    @Test("the token file is read and trimmed; a group/world-readable file is used with a warning that never shows the token")
    func tokenFile() throws {
        let directory = try TestSupport.temporaryDirectory("token")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/token"
        let secret = "file-secret-\(UUID().uuidString)"
        try (secret + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        let logs = LogCapture()
        let token = try #require(try APIToken.load(environment: [:], tokenFile: file, logger: logs.logger()))
        #expect(token.matches(secret))
        #expect(logs.text.contains("readable by other users"))
        #expect(logs.text.contains("644"))
        #expect(!logs.text.contains(secret))
        // PODAGENT_TOKEN wins over the file.
        let fromEnvironment = try #require(try APIToken.load(environment: ["PODAGENT_TOKEN": "env-token"], tokenFile: file, logger: logs.logger()))
        #expect(fromEnvironment.matches("env-token"))
        #expect(try APIToken.load(environment: [:], tokenFile: nil, logger: logs.logger()) == nil)
        #expect(throws: AgentError.self) { try APIToken.load(environment: [:], tokenFile: directory + "/missing", logger: logs.logger()) }
    }

    @Test("no token: the API binds 127.0.0.1 whatever http.host says, and says so once at start")
    func loopbackWithoutToken() async throws {
        let stateDir = try TestSupport.temporaryDirectory("api-bind")
        defer { try? FileManager.default.removeItem(atPath: stateDir) }
        var config = AgentConfig()
        config.http.host = "0.0.0.0"
        config.http.port = 0
        config.ssh.enabled = .off
        let logs = LogCapture()
        // Its own supervisor (never started: nothing here spawns): the signal service consumes its signals.
        let setup = AgentSetup(
            config: config, stateDir: stateDir, logger: logs.logger(), supervisor: Supervisor(reaping: .registeredOnly, logger: logs.logger()),
            gpuProbe: FakeGPUProbe())
        #expect(setup.bindHost == "127.0.0.1")
        let port = Mutex<Int?>(nil)
        let application = buildApplication(setup) { bound in port.withLock { $0 = bound } }
        let server = Task { try await application.run() }
        // Generous: with the whole suite running at once on 2 cores the server once took over 20 s to bind.
        #expect(await eventually(timeout: .seconds(90)) { port.withLock { $0 } != nil })
        let bound = try #require(port.withLock { $0 })
        let live = try await httpGet("http://127.0.0.1:\(bound)/v2/health/live")
        #expect(live.status == 200)
        if let address = Self.nonLoopbackIPv4() {
            #expect(!Self.canConnect(address, port: bound), "the API answered on \(address): it must listen on 127.0.0.1 only")
        } else {
            print("loopbackWithoutToken: this machine has no non-loopback IPv4 address; only the bind host and the log are checked")
        }
        #expect(logs.text.components(separatedBy: "listens on 127.0.0.1 only").count == 2, "said exactly once:\n\(logs.text)")
        #expect(logs.text.contains("instead of 0.0.0.0"))
        await application.triggerGracefulShutdown()
        try await server.value

        // With a token the configured host is used.
        let guarded = AgentSetup(
            config: config, stateDir: stateDir, logger: logs.logger(), supervisor: TestSupport.supervisor, apiToken: try APIToken("x", source: "test"))
        #expect(guarded.bindHost == "0.0.0.0")
    }

    static func nonLoopbackIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var current: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = current {
            current = entry.pointee.ifa_next
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.hasPrefix("127.") { return text }
        }
        return nil
    }

    static func canConnect(_ host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    @Test("the token never appears in the log: trace level, right and wrong tokens, failing requests")
    func tokenNotLogged() async throws {
        let secret = "s3cret-\(UUID().uuidString)"
        try await withHarness(token: secret) { harness in
            try await harness.test(live: true) { client in
                try await client.execute(uri: "/health", method: .get, headers: harness.auth) { #expect($0.status == .ok) }
                try await client.execute(uri: "/health", method: .get, headers: [.authorization: "Bearer \(secret)x"]) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: ByteBuffer(string: "{bad")) {
                    #expect($0.status == .badRequest)
                }
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: try jsonBody(["inputs": ["sample_id": "a"]])) {
                    #expect($0.status == .ok)
                }
            }
            #expect(!harness.logs.text.isEmpty, "the capture saw the agent's log")
            #expect(!harness.logs.text.contains(secret))
        }
    }

    @Test("the podagent binary: PODAGENT_TOKEN is required by the API and never written to its output")
    func binaryKeepsTheTokenOutOfItsLog() async throws {
        let secret = "bin-secret-\(UUID().uuidString)"
        let agent = try await AgentProcess.start(arguments: ["--log-level", "trace"], environment: ["PODAGENT_TOKEN": secret])
        let health = try await httpGet(agent.baseURL + "/health")
        #expect(health.status == 401)
        let wrong = try await httpGet(agent.baseURL + "/health", token: "nope")
        #expect(wrong.status == 401)
        let right = try await httpGet(agent.baseURL + "/health", token: secret)
        #expect(right.status == 200)
        let live = try await httpGet(agent.baseURL + "/v2/health/live")
        #expect(live.status == 200)
        _ = await agent.stop()
        #expect(!agent.log.isEmpty)
        #expect(!agent.log.contains(secret), "the token leaked into podagent's output")
        #expect(agent.log.contains("requires a bearer token"))
    }
}
