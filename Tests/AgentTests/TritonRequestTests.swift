import Foundation
import Hummingbird
import HummingbirdTesting
import Plugins
import Testing

@testable import Agent

/// What Triton's clients send that podagent reads its own way: compressed bodies (415), the reserved
/// `timeout` parameter (podagent's `timeout_s`), and `load_model(config=)` (a 400: podagent's
/// `config` is a path). The same through the real tritonclient is in Tests/tritonclient.
@Suite("Triton requests: compressed bodies, the timeout parameter, load's config")
struct TritonRequestTests {
    /// The first bytes of a gzip stream (its magic and method): what a compressed body starts with.
    static let gzipped: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xAB, 0xAE, 0x05, 0x00]

    static let oipBody = #"{"inputs": [{"name": "sample", "datatype": "BYTES", "shape": [1], "data": ["{\"sample_id\": \"s\"}"]}]}"#

    @Test("a body in Content-Encoding gzip or deflate is a 415 naming the encoding, with Accept-Encoding: identity, on every route that reads a body", arguments: [false, true])
    func compressedBodies(live: Bool) async throws {
        try await withHarness { harness in
            try await harness.test(live: live) { client in
                let routes = ["/v2/models/PETR/infer", "/models/PETR/infer", "/jobs", "/v2/repository/models/PETR/load", "/v2/repository/index"]
                for (route, encoding, named) in routes.map({ ($0, "gzip", "gzip") }) + [
                    ("/v2/models/PETR/infer", "deflate", "deflate"), ("/v2/models/PETR/infer", "GZIP", "gzip"),
                    ("/v2/models/PETR/infer", "identity, br", "br"),
                ] {
                    var headers = harness.jsonHeaders
                    headers[.contentEncoding] = encoding
                    try await client.execute(uri: route, method: .post, headers: headers, body: ByteBuffer(bytes: Self.gzipped)) { response in
                        #expect(response.status == .unsupportedMediaType, "\(route) \(encoding): \(String(buffer: response.body))")
                        #expect(response.headers[.acceptEncoding] == "identity", "\(route)")
                        let message = response.body.object["error"] as? String ?? ""
                        #expect(message.contains("Content-Encoding '\(named)' is not supported"), "\(message)")
                        #expect(message.contains("uncompressed") && message.contains("identity"), "\(message)")
                    }
                }
                // identity is the body as sent.
                var headers = harness.jsonHeaders
                headers[.contentEncoding] = "identity"
                try await client.execute(uri: "/v2/models/PETR/infer", method: .post, headers: headers, body: ByteBuffer(string: Self.oipBody)) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
            }
        }
    }

    static func parameters(_ json: String) throws(AgentError) -> JSONValue? {
        let body = #"{"inputs": [{"name": "sample", "datatype": "BYTES", "shape": [1], "data": ["{}"]}], "parameters": \#(json)}"#
        return try OIPInferRequest(Data(body.utf8), headerLength: nil).parameters
    }

    @Test("Triton's timeout (microseconds) becomes timeout_s, 0 is none; anything but a whole number from 0 to a day is a 400 naming parameters.timeout")
    func timeoutParameter() throws {
        let mapped = try Self.parameters(#"{"timeout": 250000, "raw_format": "vad"}"#)
        #expect(mapped == .object([("raw_format", .string("vad")), ("timeout_s", .number(0.25))]))
        #expect(try InferenceOptions(mapped, key: "parameters").timeout == .milliseconds(250))
        #expect(try InferenceOptions(try Self.parameters(#"{"timeout": 1}"#), key: "parameters").timeout == .milliseconds(1))
        #expect(try Self.parameters(#"{"timeout": 0}"#) == .object([]))
        #expect(try InferenceOptions(try Self.parameters(#"{"timeout": 0}"#), key: "parameters").timeout == nil)
        #expect(try Self.parameters(#"{"timeout": 86400000000}"#) == .object([("timeout_s", .number(86_400))]))
        for bad in ["-1", "1.5", #""100""#, "true", "null", "86400000001", "1e300"] {
            let message = TritonBinaryDataTests.message { _ = try Self.parameters(#"{"timeout": \#(bad)}"#) }
            #expect(message.hasPrefix("parameters.timeout: expected Triton's request timeout, a whole number of microseconds"), "\(bad): \(message)")
        }
        #expect(TritonBinaryDataTests.message { _ = try Self.parameters(#"{"timeout": 1000, "timeout_s": 2}"#) }.contains("both timeout"))
    }

    @Test("an OIP request's timeout is its deadline: a slower answer is a 504, and the model serves again afterwards")
    func timeoutIsTheDeadline() async throws {
        try await withHarness { harness in
            try await harness.test(live: true) { client in
                let slow = #"{"inputs": [{"name": "sample", "datatype": "BYTES", "shape": [1], "data": ["{}"]}], "parameters": {"timeout": 300000, "infer_time_s": 30}}"#
                try await client.execute(uri: "/v2/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: ByteBuffer(string: slow)) { response in
                    #expect(response.status == .gatewayTimeout, "\(String(buffer: response.body))")
                }
                let served = await eventually(timeout: .seconds(60)) {
                    (try? await client.execute(uri: "/v2/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: ByteBuffer(string: Self.oipBody)) {
                        $0.status == .ok
                    }) ?? false
                }
                #expect(served)
            }
        }
    }

    @Test("load's parameters.config is a path: a JSON model configuration (tritonclient's load_model(config=)) or model files are a 400 saying what podagent takes")
    func loadConfig() throws {
        let path = try RepositoryController<BasicRequestContext>.overrides(Data(#"{"parameters": {"config": "/opt/models/petr.py"}}"#.utf8))
        #expect(path.config == "/opt/models/petr.py")
        let triton = #"{"parameters": {"config": " {\"name\": \"PETR\", \"max_batch_size\": 8}"}}"#
        let message = TritonBinaryDataTests.message { _ = try RepositoryController<BasicRequestContext>.overrides(Data(triton.utf8)) }
        #expect(message.hasPrefix("parameters.config: got a JSON model configuration (Triton's load_model(config=...)), which podagent does not take"), "\(message)")
        #expect(message.contains("absolute path of the model's own config file"), "\(message)")
        let files = #"{"parameters": {"config": "/opt/models/petr.py", "file:1/model.onnx": "AAAA"}}"#
        #expect(TritonBinaryDataTests.message { _ = try RepositoryController<BasicRequestContext>.overrides(Data(files.utf8)) }
            .hasPrefix("parameters.file:1/model.onnx: podagent does not take model files in a load request"))
    }

    @Test("load with a JSON config over HTTP: 400, and the model keeps serving")
    func loadConfigOverHTTP() async throws {
        try await withHarness { harness in
            try await harness.test(live: false) { client in
                let body = #"{"parameters": {"config": "{\"name\": \"PETR\"}"}}"#
                try await client.execute(uri: "/v2/repository/models/PETR/load", method: .post, headers: harness.jsonHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest)
                    #expect((response.body.object["error"] as? String)?.hasPrefix("parameters.config: got a JSON model configuration") == true)
                }
                try await client.execute(uri: "/v2/models/PETR/ready", method: .get, headers: harness.auth) { #expect($0.status == .ok) }
            }
        }
    }
}
