import AgentAPI
import Foundation
import Plugins
import Testing
import TestProcesses

/// Every answer of a REAL `podagent run` serving the Demo model (real worker, token from a file), read
/// into AgentAPI's types and written back: what the types write must be what the server wrote, key for
/// key and value for value, so no field the server sends is missing from (or extra in) the shared types.
@Suite("AgentAPI's types read and write what a real podagent serves", .serialized)
struct RealAgentAnswersTests {
    /// Decodes `body` as `T` and encodes it again; both must be the same JSON document.
    @discardableResult
    static func roundTrip<T: Codable>(_ body: Data, as type: T.Type, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        let value = try AgentJSON.decode(type, from: body, what: what)
        let again = try AgentJSON.encoder().encode(value)
        let original = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) as? NSObject
        let rewritten = try JSONSerialization.jsonObject(with: again, options: [.fragmentsAllowed]) as? NSObject
        #expect(original == rewritten, "\(what): the server wrote\n\(String(decoding: body, as: UTF8.self))\nthe type writes\n\(String(decoding: again, as: UTF8.self))",
                sourceLocation: sourceLocation)
        return value
    }

    @Test func theCheckCatchesAFieldTheTypeLacksOrChanges() throws {
        // A server key the type does not know, and a value the type writes differently, are both reported.
        withKnownIssue { try Self.roundTrip(Data(#"{"live":true,"since":"boot"}"#.utf8), as: LiveAnswer.self, "extra key") }
        withKnownIssue { try Self.roundTrip(Data(#"{"ready":true,"reasons":null}"#.utf8), as: ReadyAnswer.self, "explicit null") }
        try Self.roundTrip(Data(#"{"ready":false,"reasons":["model:Demo: loading"]}"#.utf8), as: ReadyAnswer.self, "same")
    }

    @Test func everyRouteRoundTrips() throws {
        let dir = try Shell.temporaryDirectory("api-types")
        let secret = "file-token-\(UUID().uuidString)"
        let agent = try DemoPodagent(dir: dir, token: secret, tokenInFile: true)
        defer { agent.stop() }
        let token = try AgentToken.read("\(dir)/token-agent", source: "test")
        let client = AgentClient(transport: try SocketTransport(baseURL: agent.baseURL), token: token, timeout: .seconds(60))
        func get(_ path: String) throws -> AgentResponse { try client.send("GET", path, timeout: .seconds(30)) }

        // Readiness while the Demo worker starts (503 with reasons), then ready (200).
        var ready = try get("/v2/health/ready")
        let deadline = ContinuousClock.now + .seconds(90)
        while ready.status != 200, ContinuousClock.now < deadline {
            #expect(ready.status == 503)
            let answer = try Self.roundTrip(ready.body, as: ReadyAnswer.self, "GET /v2/health/ready (503)")
            #expect(answer.ready == false && answer.reasons?.isEmpty == false)
            usleep(200_000)
            ready = try get("/v2/health/ready")
        }
        try #require(ready.status == 200, "the Demo model did not get ready: \(String(decoding: ready.body, as: UTF8.self))")
        #expect(try Self.roundTrip(ready.body, as: ReadyAnswer.self, "GET /v2/health/ready") == ReadyAnswer(ready: true))
        #expect(try client.ready() == ReadyAnswer(ready: true))
        #expect(try Self.roundTrip(try get("/v2/health/live").body, as: LiveAnswer.self, "GET /v2/health/live").live)
        #expect(try client.live().live)

        // The report, with the models part filled by the engine (instances, pids, load times).
        let report = try Self.roundTrip(try get("/health").body, as: HealthReport.self, "GET /health")
        #expect(report.ready && report.agent.name == "podagent" && report.parts["model:Demo"]?.ready == true)
        let demo = try #require(report.models?.first { $0.name == "Demo" })
        #expect(demo.isReady && demo.instances.first?.pid != nil && demo.instances.first?.loadSeconds != nil)
        #expect(try client.health().report.agent.pid == report.agent.pid)

        let server = try Self.roundTrip(try get("/v2").body, as: ServerMetadata.self, "GET /v2")
        #expect(server.name == "podagent" && server.extensions.contains("health_report"))
        let models = try Self.roundTrip(try get("/v2/models").body, as: ModelList.self, "GET /v2/models")
        #expect(models.models.contains { $0.name == "Demo" && $0.enabled && $0.ready })
        #expect(models.models.contains { $0.name == "VAD" && !$0.enabled })
        let metadata = try Self.roundTrip(try get("/v2/models/Demo").body, as: ModelMetadata.self, "GET /v2/models/Demo")
        #expect(metadata.name == "Demo" && !metadata.outputs.isEmpty)
        #expect(try client.model("Demo") == metadata)
        let readiness = try Self.roundTrip(try get("/v2/models/Demo/ready").body, as: ModelReadiness.self, "GET /v2/models/Demo/ready")
        #expect(readiness.ready && readiness.state == "READY")
        #expect(try client.modelReadiness("VAD").ready == false)
        let index = try Self.roundTrip(try get("/v2/repository/index").body, as: [ModelStatus].self, "GET /v2/repository/index")
        #expect(index.contains { $0.name == "Demo" && $0.isReady && $0.reason == "" })
        #expect(index.contains { $0.name == "PETR" && !$0.isReady && $0.reason?.isEmpty == false })
        #expect(try client.repositoryIndex() == index)

        // Inference, both protocols.
        let sample = Data(#"{"sample_id":"api-1"}"#.utf8)
        let options = Data(#"{"raw_format":"petr"}"#.utf8)
        let native = try client.infer(model: "Demo", inputs: sample, options: options)
        #expect(native.attempts == 1 && native.requestID?.isEmpty == false && native.latencySeconds > 0)
        #expect(try StandardResult.decode(native.body).meta.sampleID == "api-1")
        let oipBody = try client.send("POST", "/v2/models/Demo/infer", body: Data(
            #"{"id":"oip-1","inputs":[{"name":"sample","datatype":"BYTES","shape":[1],"data":["{\"sample_id\":\"api-2\"}"]}],"parameters":{"raw_format":"vad"}}"#.utf8),
            timeout: .seconds(60))
        #expect(oipBody.status == 200)
        let oip = try Self.roundTrip(oipBody.body, as: OIPInferResponse.self, "POST /v2/models/Demo/infer")
        #expect(oip.id == "oip-1" && oip.model_name == "Demo" && oip.outputs.first?.name == "result" && oip.parameters.attempts == 1)
        let viaClient = try client.inferOIP(model: "Demo", sample: sample, parameters: options, id: "oip-2")
        #expect(try StandardResult.decode(Data((viaClient.outputs.first?.data.first ?? "").utf8)).meta.sampleID == "api-1")

        // Jobs: submitted, read while and after running, listed without results.
        let accepted = try client.submitJob(model: "Demo", inputs: sample, options: options)
        var job = try client.job(accepted.id, result: JSONValue.self)
        while !job.state.isFinal, ContinuousClock.now < deadline {
            usleep(100_000)
            job = try client.job(accepted.id, result: JSONValue.self)
        }
        #expect(job.state == .succeeded && job.result != nil && job.timings != nil, "\(job)")
        try Self.roundTrip(try get("/jobs/\(accepted.id)").body, as: Job<JSONValue>.self, "GET /jobs/{id}")
        let list = try Self.roundTrip(try get("/jobs").body, as: JobList<JSONValue>.self, "GET /jobs")
        #expect(list.jobs.contains { $0.id == accepted.id && $0.result == nil })
        let finished = #expect(throws: AgentAPIError.self) { _ = try client.cancelJob(accepted.id, result: JSONValue.self) }
        #expect(finished?.status == 409)

        // Errors: the one error body, mapped by the client.
        let unknown = try get("/v2/models/Nope")
        #expect(unknown.status == 404)
        #expect(try Self.roundTrip(unknown.body, as: ErrorBody.self, "GET /v2/models/Nope").error.contains("Nope"))
        let noKeys = #expect(throws: AgentAPIError.self) { _ = try client.hostKeys() }
        #expect(noKeys?.code == .unavailable && noKeys?.message.contains("sshd") == true, "\(noKeys?.message ?? "")")
        let wrong = AgentClient(transport: client.transport, token: try AgentToken("wrong", source: "test"))
        let refused = #expect(throws: AgentAPIError.self) { _ = try wrong.models() }
        #expect(refused?.code == .unauthorized && refused?.message.contains(secret) == false)
        // The probes stay open without a token.
        #expect(try AgentClient(transport: client.transport, token: nil).live().live)
    }

    @Test func hostKeysOfARealSSHDRoundTrip() throws {
        try #require(getuid() == 0, "a managed sshd needs root (the tests run as root, CI does too)")
        let dir = try Shell.temporaryDirectory("api-host-keys")
        let key = "\(dir)/client"
        let made = try Shell.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
        try #require(made.status == 0, "ssh-keygen: \(made.stderr)")
        let agent = try SSHDPodagent(authorizedKey: try String(contentsOfFile: key + ".pub", encoding: .utf8), name: "api-keys", token: .configFile)
        defer { agent.stop() }
        let client = AgentClient(transport: try SocketTransport(baseURL: agent.baseURL), token: try AgentToken(agent.token, source: "test"))
        var answer = try client.send("GET", "/v2/ssh/host-keys", timeout: .seconds(10))
        let deadline = ContinuousClock.now + .seconds(30)
        while answer.status == 503, ContinuousClock.now < deadline {
            usleep(100_000)
            answer = try client.send("GET", "/v2/ssh/host-keys", timeout: .seconds(10))
        }
        let keys = try Self.roundTrip(answer.body, as: HostKeyList.self, "GET /v2/ssh/host-keys")
        #expect(keys.hostKeys.map { "\($0.type) \($0.publicKey)" }.sorted() == (try agent.keyscan()))
        #expect(keys.hostKeys.allSatisfy { $0.fingerprint.hasPrefix("SHA256:") })
        #expect(try client.hostKeys() == keys)
    }
}
