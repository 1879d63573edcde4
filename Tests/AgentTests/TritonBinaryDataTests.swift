import Foundation
import Hummingbird
import HummingbirdTesting
import Plugins
import Testing

@testable import Agent

/// Triton's binary tensor data extension on the OIP infer body: what each datatype's bytes become,
/// and the 400 a malformed body gets. (The whole path through the real tritonclient is in
/// Tests/tritonclient.)
@Suite("Triton binary tensor data: reading infer bodies")
struct TritonBinaryDataTests {
    /// A JSON header followed by `binary`, with the header's length as the request would send it.
    static func body(_ header: String, _ binary: [UInt8] = []) -> (Data, String) {
        (Data(header.utf8) + Data(binary), String(header.utf8.count))
    }

    static func element(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init) + bytes
    }

    static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    }

    static let sample = #"{"name": "sample", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}"#

    static func request(inputs: [String], binary: [UInt8], extra: String = "") throws(AgentError) -> OIPInferRequest {
        let (data, length) = body(#"{"inputs": [\#(([sample] + inputs).joined(separator: ","))]\#(extra)}"#, element("{}") + binary)
        return try OIPInferRequest(data, headerLength: length)
    }

    static func message(_ work: () throws -> Void) -> String {
        do {
            try work()
            return "no error"
        } catch let error as AgentError {
            #expect(error.code == .invalidArgument)
            return error.message
        } catch {
            return "not an AgentError: \(error)"
        }
    }

    @Test("each numeric datatype's little-endian bytes become a tensor of its values and shape")
    func numericDatatypes() throws {
        let cases: [(String, [Int], [UInt8], [Double])] = [
            ("FP32", [2, 2], Self.littleEndian([Float(1.5), -2, 0.25, 1e30].map(\.bitPattern)), [1.5, -2, 0.25, Double(Float(1e30))]),
            ("FP64", [2], Self.littleEndian([0.1, -1e300].map(\.bitPattern)), [0.1, -1e300]),
            ("FP16", [3], Self.littleEndian([Float16(0.5), -2, 65504].map(\.bitPattern)), [0.5, -2, 65504]),
            ("BF16", [2], Self.littleEndian([UInt16(0x3FC0), 0xC000]), [1.5, -2]),
            ("INT8", [3], [0x80, 0xFF, 0x7F], [-128, -1, 127]),
            ("INT16", [2], Self.littleEndian([Int16.min, 300]), [-32768, 300]),
            ("UINT16", [1], Self.littleEndian([UInt16.max]), [65535]),
            ("INT32", [1, 2], Self.littleEndian([Int32.min, 7]), [-2_147_483_648, 7]),
            ("UINT32", [1], Self.littleEndian([UInt32.max]), [4_294_967_295]),
            ("INT64", [2], Self.littleEndian([Int64(-(1 << 40)), 3]), [-1_099_511_627_776, 3]),
            ("UINT64", [1], Self.littleEndian([UInt64(1) << 62]), [4_611_686_018_427_387_904]),
            ("UINT8", [3], [0, 128, 255], [0, 128, 255]),
            ("BOOL", [3], [1, 0, 1], [1, 0, 1]),
        ]
        for (datatype, shape, bytes, expected) in cases {
            let input = #"{"name": "x", "datatype": "\#(datatype)", "shape": \#(shape), "parameters": {"binary_data_size": \#(bytes.count)}}"#
            let request = try Self.request(inputs: [input], binary: bytes)
            guard case .tensor(let tensor)? = request.sample["x"] else {
                Issue.record("\(datatype): no tensor in \(request.sample)")
                continue
            }
            #expect(tensor.shape == shape, "\(datatype)")
            #expect((0..<tensor.elementCount).map { tensor[flat: $0] } == expected, "\(datatype)")
        }
    }

    @Test("BYTES elements are read by their lengths; paths stay lists; the sample's JSON text is the description")
    func bytesElements() throws {
        let paths = Self.element("/data/a.jpg") + Self.element("/data/ü.jpg")
        let input = #"{"name": "img_paths", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": \#(paths.count)}}"#
        let (data, length) = Self.body(
            #"{"inputs": [{"name": "sample", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 23}}, \#(input)]}"#,
            Self.element(#"{"sample_id": "s1"}"#) + paths)
        let request = try OIPInferRequest(data, headerLength: length)
        #expect(request.sample["sample_id"] == .string("s1"))
        #expect(request.sample["img_paths"] == .array([.string("/data/a.jpg"), .string("/data/ü.jpg")]))
    }

    @Test("binary_data_output asks for a binary result; an output's binary_data overrides it; neither is passed on as an option")
    func outputChoice() throws {
        let plain = try Self.request(inputs: [], binary: [])
        #expect(!plain.binaryOutput)
        let all = try Self.request(inputs: [], binary: [], extra: #", "parameters": {"binary_data_output": true, "raw_format": "vad"}"#)
        #expect(all.binaryOutput)
        #expect(all.parameters == .object([("raw_format", .string("vad"))]))
        let overridden = try Self.request(
            inputs: [], binary: [], extra: #", "parameters": {"binary_data_output": true}, "outputs": [{"name": "result", "parameters": {"binary_data": false}}]"#)
        #expect(!overridden.binaryOutput)
        let asked = try Self.request(inputs: [], binary: [], extra: #", "outputs": [{"name": "result", "parameters": {"binary_data": true}}]"#)
        #expect(asked.binaryOutput)
    }

    @Test("a body that does not add up is a 400 naming the header or the input")
    func hostileBodies() {
        let (data, length) = Self.body(#"{"inputs": [\#(Self.sample)]}"#, Self.element("{}"))
        #expect(Self.message { _ = try OIPInferRequest(data, headerLength: String(data.count + 1)) }.contains("beyond the request body's \(data.count)"))
        #expect(Self.message { _ = try OIPInferRequest(data, headerLength: "-1") }.contains("Inference-Header-Content-Length"))
        #expect(Self.message { _ = try OIPInferRequest(data, headerLength: "0x10") }.contains("Inference-Header-Content-Length"))
        #expect(Self.message { _ = try OIPInferRequest(data, headerLength: nil) }.contains("request body"))
        #expect(Self.message { _ = try OIPInferRequest(data + Data([1, 2]), headerLength: length) }.contains("2 bytes after the JSON header belong to no input"))
        let fp32 = #"{"name": "pose", "datatype": "FP32", "shape": [4, 4], "parameters": {"binary_data_size": 60}}"#
        #expect(Self.message { _ = try Self.request(inputs: [fp32], binary: Array(repeating: 0, count: 60)) }
            == "inputs[1] (pose): binary_data_size is 60 bytes, but shape [4, 4] of FP32 takes 64")
        let huge = #"{"name": "pose", "datatype": "FP32", "shape": [4], "parameters": {"binary_data_size": 1e15}}"#
        #expect(Self.message { _ = try Self.request(inputs: [huge], binary: []) }.hasPrefix("inputs[1] (pose).parameters.binary_data_size is 1000000000000000 bytes, beyond"))
        let negative = #"{"name": "pose", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": -4}}"#
        #expect(Self.message { _ = try Self.request(inputs: [negative], binary: []) }.hasPrefix("inputs[1] (pose).parameters.binary_data_size: expected a whole number"))
        let overflow = #"{"name": "big", "datatype": "FP64", "shape": [4294967296, 4294967296], "parameters": {"binary_data_size": 8}}"#
        #expect(Self.message { _ = try Self.request(inputs: [overflow], binary: Array(repeating: 0, count: 8)) }.contains("inputs[1] (big).shape"))
        let tooBig = #"{"name": "u", "datatype": "UINT64", "shape": [1], "parameters": {"binary_data_size": 8}}"#
        #expect(Self.message { _ = try Self.request(inputs: [tooBig], binary: Self.littleEndian([UInt64.max])) }.contains("does not fit a signed 64-bit integer"))
        let both = #"{"name": "p", "datatype": "FP32", "shape": [1], "data": [1], "parameters": {"binary_data_size": 4}}"#
        #expect(Self.message { _ = try Self.request(inputs: [both], binary: [0, 0, 0, 0]) }.contains("both data and parameters.binary_data_size"))
        let short = #"{"name": "s", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 6}}"#
        #expect(Self.message { _ = try Self.request(inputs: [short], binary: Self.element("ab")) }
            == "inputs[1] (s): binary_data_size holds 1 elements, but shape [2] has 2")
        let notUTF8 = #"{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 5}}"#
        #expect(Self.message { _ = try Self.request(inputs: [notUTF8], binary: [1, 0, 0, 0, 0xFF]) }.contains("not valid UTF-8"))
        #expect(Self.message { _ = try Self.request(inputs: [], binary: [], extra: #", "outputs": [{"name": "raw"}]"#) }.contains("unknown output 'raw'"))
    }

    @Test("numeric JSON inputs are checked against their shape, flat or nested")
    func numericJSON() throws {
        let nested = #"{"name": "m", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2], [3, 4]]}"#
        let request = try Self.request(inputs: [nested], binary: [])
        guard case .tensor(let tensor)? = request.sample["m"] else { throw AgentError(.internalError, "no tensor") }
        #expect(tensor.shape == [2, 2])
        let wrong = #"{"name": "m", "datatype": "INT32", "shape": [3], "data": [1, 2]}"#
        #expect(Self.message { _ = try Self.request(inputs: [wrong], binary: []) } == "inputs[1] (m).data: 2 elements, but shape [3] has 3")
        let text = #"{"name": "m", "datatype": "INT32", "shape": [1], "data": ["1"]}"#
        #expect(Self.message { _ = try Self.request(inputs: [text], binary: []) }.contains("expected a number for INT32"))
    }
}

@Suite("Triton statistics: counts and durations per model")
struct InferenceStatisticsTests {
    @Test("concurrent successes and failures are all counted; durations add up in nanoseconds")
    func concurrentRecording() async {
        let statistics = InferenceStatistics(now: { Date(timeIntervalSince1970: 1_700_000_000.5) })
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<400 {
                group.addTask {
                    if index % 4 == 0 {
                        statistics.recordFailure(model: "Demo", seconds: 0.002)
                    } else {
                        statistics.recordSuccess(model: "Demo", .init(total: 0.010, queue: 0.001, input: 0.002, infer: 0.005, output: 0.002))
                    }
                }
            }
        }
        let demo = statistics.snapshot("Demo")
        #expect(demo.success == .init(count: 300, ns: 3_000_000_000))
        #expect(demo.fail == .init(count: 100, ns: 200_000_000))
        #expect(demo.queue.count == 300 && demo.computeInput.count == 300 && demo.computeInfer.count == 300 && demo.computeOutput.count == 300)
        #expect(demo.computeInfer.ns == 1_500_000_000)
        #expect(demo.inferenceCount == 300 && demo.executionCount == 300)
        #expect(demo.lastInference == 1_700_000_000_500)
        #expect(statistics.snapshot("PETR") == InferenceStatistics.Model())
    }

    @Test("a negative or non-finite duration (a clock step) counts as zero nanoseconds")
    func oddDurations() {
        #expect(InferenceStatistics.Duration.nanoseconds(-1) == 0)
        #expect(InferenceStatistics.Duration.nanoseconds(.nan) == 0)
        #expect(InferenceStatistics.Duration.nanoseconds(.infinity) == 0)
        #expect(InferenceStatistics.Duration.nanoseconds(1e300) == UInt64(Int64.max))
        #expect(InferenceStatistics.Duration.nanoseconds(1.5e-9) == 2)
    }
}

@Suite("Triton extensions' routes: server metadata, configuration, statistics")
struct TritonRoutesTests {
    @Test("GET /v2 lists the extensions served; config and stats answer per model, all models, and 404 for unknown names and versions")
    func routes() async throws {
        let app = Application(router: try ModelsControllerTests.makeAgent(models: ["PETR"]).buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2", method: .get) { response in
                let extensions = try #require(try ModelsControllerTests.object(response.body)["extensions"] as? [String])
                #expect(Set(["binary_tensor_data", "model_configuration", "statistics"]).isSubset(of: Set(extensions)))
            }
            try await client.execute(uri: "/v2/models/stats", method: .get) { response in
                #expect(response.status == .ok)
                let stats = try #require(try ModelsControllerTests.object(response.body)["model_stats"] as? [[String: Any]])
                #expect(stats.compactMap { $0["name"] as? String } == ["Demo", "MapTR", "PETR", "StreamPETR", "TopoMLP", "VAD"])
                let petr = try #require(stats.first { $0["name"] as? String == "PETR" })
                #expect(petr["inference_count"] as? Int == 0 && petr["execution_count"] as? Int == 0)
                let inference = try #require(petr["inference_stats"] as? [String: [String: Int]])
                #expect(Set(inference.keys) == ["success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss"])
                #expect(inference["success"] == ["count": 0, "ns": 0])
            }
            try await client.execute(uri: "/v2/models/petr/versions/1.0.0/stats", method: .get) { response in
                #expect(response.status == .ok)
                let stats = try #require(try ModelsControllerTests.object(response.body)["model_stats"] as? [[String: Any]])
                #expect(stats.map { $0["name"] as? String } == ["PETR"])
            }
            try await client.execute(uri: "/v2/models/PETR/versions/9/stats", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("no version '9'"))
            }
            try await client.execute(uri: "/v2/models/yolo/stats", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v2/models/yolo/config", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v2/models/PETR/config", method: .get) { response in
                #expect(response.status == .ok)
                let config = try ModelsControllerTests.object(response.body)
                #expect(config["name"] as? String == "PETR")
                #expect(config["max_batch_size"] as? Int == 0)
                let input = try #require(config["input"] as? [[String: Any]])
                #expect(input.map { $0["name"] as? String } == ["sample"] && input.first?["data_type"] as? String == "TYPE_STRING")
                let output = try #require(config["output"] as? [[String: Any]])
                #expect(output.map { $0["name"] as? String } == ["result"] && output.first?["dims"] as? [Int] == [1])
            }
            // Versioned metadata and readiness: the model's one version answers as the unversioned
            // route does, another version or model is 404 naming it.
            try await client.execute(uri: "/v2/models/petr/versions/1.0.0", method: .get) { response in
                #expect(response.status == .ok)
                let metadata = try ModelsControllerTests.object(response.body)
                #expect(metadata["name"] as? String == "PETR" && metadata["versions"] as? [String] == ["1.0.0"])
                #expect((metadata["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["result"])
            }
            try await client.execute(uri: "/v2/models/PETR/versions/2", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("no version '2'"))
            }
            try await client.execute(uri: "/v2/models/yolo/versions/1.0.0/ready", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("yolo"))
            }
            try await client.execute(uri: "/v2/models/PETR/versions/2/ready", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("no version '2'"))
            }
        }
    }
}
