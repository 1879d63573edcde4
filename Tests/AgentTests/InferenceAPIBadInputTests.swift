import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Agent

/// Bad requests: each gets its status and a message that names what is wrong.
extension InferenceAPITests {
    /// One bad request and what its answer must say.
    struct BadCase: Sendable, CustomTestStringConvertible {
        var name: String
        var uri: String
        var body: String
        var status: HTTPResponse.Status
        var says: String
        var testDescription: String { name }
    }

    static func badCases(dataRoot: String, outside: String, link: String) -> [BadCase] {
        [
            BadCase(name: "malformed JSON", uri: "/models/PETR/infer", body: "{\n  \"inputs\": {,}\n}", status: .badRequest, says: "line 2, column 14"),
            BadCase(name: "truncated JSON", uri: "/models/PETR/infer", body: "{\"inputs\": {", status: .badRequest, says: "truncated JSON"),
            BadCase(name: "not an object", uri: "/models/PETR/infer", body: "[1]", status: .badRequest, says: "expected a JSON object"),
            BadCase(name: "unknown key", uri: "/models/PETR/infer", body: #"{"inputs": {}, "optoins": {}}"#, status: .badRequest, says: "unknown key 'optoins'"),
            BadCase(name: "inputs not an object", uri: "/models/PETR/infer", body: #"{"inputs": 3}"#, status: .badRequest, says: "inputs: expected a JSON object"),
            BadCase(name: "bad option", uri: "/models/PETR/infer", body: #"{"inputs": {}, "options": {"format": "csv"}}"#, status: .badRequest, says: "options.format"),
            BadCase(name: "bad timeout", uri: "/models/PETR/infer", body: #"{"inputs": {}, "options": {"timeout_s": -1}}"#, status: .badRequest, says: "options.timeout_s"),
            BadCase(name: "path outside the roots", uri: "/models/PETR/infer", body: #"{"inputs": {"img_path": "\#(outside)"}}"#, status: .badRequest, says: "inputs.img_path: '\(outside)' is outside the data roots"),
            BadCase(name: "dot-dot", uri: "/models/PETR/infer", body: #"{"inputs": {"img_paths": ["\#(dataRoot)/../etc/passwd"]}}"#, status: .badRequest, says: "inputs.img_paths[0]: '\(dataRoot)/../etc/passwd' contains '..'"),
            BadCase(name: "symlink escape", uri: "/models/PETR/infer", body: #"{"inputs": {"cams": [{"img_path": "\#(link)"}]}}"#, status: .badRequest, says: "inputs.cams[0].img_path: '\(link)' (it resolves to"),
            BadCase(name: "relative path", uri: "/models/PETR/infer", body: #"{"inputs": {"lidar_path": "x.bin"}}"#, status: .badRequest, says: "'x.bin' is not an absolute path"),
            BadCase(name: "missing file", uri: "/models/PETR/infer", body: #"{"inputs": {"lidar_path": "\#(dataRoot)/nope.bin"}}"#, status: .badRequest, says: "does not exist"),
            BadCase(name: "path of a wrong type", uri: "/models/PETR/infer", body: #"{"inputs": {"img_path": 7}}"#, status: .badRequest, says: "inputs.img_path: expected a file path"),
            BadCase(name: "bad base64", uri: "/models/PETR/infer", body: #"{"inputs": {"img_path": {"base64": "%%%"}}}"#, status: .badRequest, says: "inputs.img_path.base64: not valid base64"),
            BadCase(name: "unknown model", uri: "/models/yolo/infer", body: #"{"inputs": {}}"#, status: .notFound, says: "yolo"),
            BadCase(name: "worker says bad input", uri: "/models/PETR/infer", body: #"{"inputs": {}, "options": {"fail": "bad_input"}}"#, status: .badRequest, says: "injected bad input"),
            BadCase(name: "OIP without inputs", uri: "/v2/models/PETR/infer", body: #"{"inputs": []}"#, status: .badRequest, says: "inputs: expected a non-empty list"),
            BadCase(name: "OIP sample not JSON", uri: "/v2/models/PETR/infer", body: #"{"inputs": [{"name": "sample", "datatype": "BYTES", "shape": [1], "data": ["{oops"]}]}"#, status: .badRequest, says: "inputs[0] (sample).data[0]"),
            BadCase(name: "OIP path outside", uri: "/v2/models/PETR/infer", body: #"{"inputs": [{"name": "img_paths", "datatype": "BYTES", "shape": [1], "data": ["\#(outside)"]}]}"#, status: .badRequest, says: "inputs.img_paths[0]"),
            BadCase(name: "job with a path outside", uri: "/jobs", body: #"{"model": "PETR", "inputs": {"img_path": "\#(outside)"}}"#, status: .badRequest, says: "outside the data roots"),
            BadCase(name: "job for an unknown model", uri: "/jobs", body: #"{"model": "yolo", "inputs": {}}"#, status: .notFound, says: "yolo"),
        ]
    }

    @Test("every bad input gets its status and a message naming the problem", arguments: [false, true])
    func badInputs(live: Bool) async throws {
        try await withHarness { harness in
            let outside = try TestSupport.temporaryDirectory("outside") + "/secret.txt"
            try "secret".write(toFile: outside, atomically: true, encoding: .utf8)
            let link = harness.dataRoot + "/escape.jpg"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: outside)
            try await harness.test(live: live) { client in
                for bad in Self.badCases(dataRoot: harness.dataRoot, outside: outside, link: link) {
                    try await client.execute(uri: bad.uri, method: .post, headers: harness.jsonHeaders, body: ByteBuffer(string: bad.body)) { response in
                        #expect(response.status == bad.status, "\(bad.name): \(String(buffer: response.body))")
                        let message = response.body.object["error"] as? String ?? ""
                        #expect(message.contains(bad.says), "\(bad.name): '\(message)' does not say '\(bad.says)'")
                    }
                }
                // The worker kept serving through all of it.
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: try jsonBody(["inputs": [:]])) {
                    #expect($0.status == .ok)
                }
            }
            try? FileManager.default.removeItem(atPath: (outside as NSString).deletingLastPathComponent)
        }
    }

    @Test("a body over api.max_body_mib is 413", arguments: [false, true])
    func bodyTooLarge(live: Bool) async throws {
        try await withHarness(configure: { $0.api.maxBodyMiB = 1 }) { harness in
            try await harness.test(live: live) { client in
                let big = #"{"inputs": {"blob": ""# + String(repeating: "x", count: 1_200_000) + #""}}"#
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: ByteBuffer(string: big)) { response in
                    #expect(response.status == .contentTooLarge)
                    #expect((response.body.object["error"] as? String)?.contains("api.max_body_mib") == true)
                }
            }
        }
    }
}
