import Foundation
import Hummingbird
import HummingbirdTesting
import Plugins
import Testing

@testable import Agent

/// Real requests through the API and the real engine: each model's worker is the stand-in
/// (the Demo worker in that model's raw format; no weights here) and the real model plugins parse its output.
@Suite("HTTP API: native and OIP inference, bad inputs, uploads, repository", .serialized)
struct InferenceAPITests {
    @Test("native infer in each model's raw format: the standard result, timings, headers", arguments: [false, true])
    func nativeEachModel(live: Bool) async throws {
        // Through the router every model; over the wire two (the live test client gives up after 20 s
        // without a byte, and TopoMLP's dense raw output is slow to make and parse on a loaded debug build).
        let models = live ? ["MapTR", "PETR"] : ["MapTR", "PETR", "StreamPETR", "TopoMLP", "VAD"]
        try await withHarness(models: models) { harness in
            let image = try harness.dataFile("cam_front.jpg")
            try await harness.test(live: live) { client in
                for model in models {
                    var headers = harness.jsonHeaders
                    headers[.requestID] = "req-\(model)"
                    let body = try jsonBody(["inputs": ["sample_id": "s1", "img_path": image], "options": ["score_threshold": 0, "detections": 20]])
                    try await client.execute(uri: "/models/\(model.lowercased())/infer", method: .post, headers: headers, body: body) { response in
                        #expect(response.status == .ok, "\(model): \(String(buffer: response.body))")
                        #expect(response.headers[.requestID] == "req-\(model)")
                        #expect(response.headers[.attempts] == "1")
                        let result = response.body.object
                        let meta = try #require(result["meta"] as? [String: Any])
                        #expect(meta["model"] as? String == model)
                        #expect(meta["sample_id"] as? String == "s1")
                        let timings = try #require(meta["timings_seconds"] as? [String: Double])
                        for key in ["queue_s", "inference_s", "parse_s", "total_s"] { #expect(timings[key] != nil, "\(model): \(key)") }
                        switch model {
                        case "MapTR": #expect((result["map_elements"] as? [Any])?.count == 20)
                        case "TopoMLP": #expect((result["lane_centerlines"] as? [Any])?.count == 300)
                        default: #expect((result["detections"] as? [Any])?.count == 20, "\(model)")
                        }
                        #expect(result["raw"] == nil)
                    }
                }
                // include_raw keeps the raw output; an export format replaces the standard result.
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders,
                                         body: try jsonBody(["inputs": ["sample_id": "s2"], "options": ["include_raw": true]])) { response in
                    #expect(response.status == .ok)
                    #expect(response.body.object["raw"] != nil)
                }
                try await client.execute(uri: "/models/MapTR/infer", method: .post, headers: harness.jsonHeaders,
                                         body: try jsonBody(["inputs": ["sample_id": "s3"], "options": ["format": "nuscmap", "score_threshold": 0]])) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let export = response.body.object
                    #expect(export["schema_version"] == nil, "an export, not the standard result")
                    let samples = try #require(export["results"] as? [[String: Any]])
                    #expect(samples.first?["sample_token"] as? String == "s3")
                }
                let identity: [String: Any] = ["lidar2ego_rotation": [1, 0, 0, 0], "lidar2ego_translation": [0, 0, 0],
                                               "ego2global_rotation": [1, 0, 0, 0], "ego2global_translation": [0, 0, 0]]
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders,
                                         body: try jsonBody(["inputs": ["sample_id": "tok1", "calibration": identity], "options": ["format": "nuscenes"]])) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let results = try #require(response.body.object["results"] as? [String: Any])
                    #expect(results["tok1"] != nil)
                }
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders,
                                         body: try jsonBody(["inputs": ["sample_id": "tok1"], "options": ["format": "nuscenes"]])) { response in
                    #expect(response.status == .badRequest)
                    #expect((response.body.object["error"] as? String)?.contains("inputs.calibration") == true)
                }
            }
        }
    }

    @Test("a VAD-sized result (rendered on two threads when a core is free) is the very bytes one thread writes")
    func largeResultBytes() async throws {
        try await withHarness(models: ["VAD"]) { harness in
            try await harness.test(live: true) { client in
                for sample in ["s1", "s2", "s3"] {
                    let body = try jsonBody(["inputs": ["sample_id": sample], "options": ["score_threshold": 0, "detections": 100]])
                    try await client.execute(uri: "/models/VAD/infer", method: .post, headers: harness.jsonHeaders, body: body) { response in
                        #expect(response.status == .ok, "\(String(buffer: response.body))")
                        let bytes = Data(response.body.readableBytesView)
                        let result = try StandardResult.decode(bytes)
                        #expect(result.detections?.count == 100)
                        #expect(result.detections?.allSatisfy { $0.trajectoriesLidar?.isEmpty == false } == true)
                        // Large enough to be shared: ~225 KB, its detections well above SharedRender's 128 KiB estimate.
                        #expect(bytes.count > 200_000)
                        // The writer's text decodes back to the same result, so one thread's render of the
                        // decoded result must give the served bytes exactly.
                        #expect(try result.jsonBytes() == Array(bytes), "\(sample): the served body differs from one thread's render")
                    }
                }
            }
        }
    }

    @Test("/metrics counts inference requests by the catalog's name; made-up names share one label")
    func requestMetricsLabels() async throws {
        try await withHarness(models: ["PETR"]) { harness in
            try await harness.test(live: false) { client in
                for name in ["yolo", "yolo", "Made-Up-\(UUID().uuidString)", "petr", "PETR"] {
                    try await client.execute(uri: "/models/\(name)/infer", method: .post, headers: harness.jsonHeaders,
                                             body: try jsonBody(["inputs": ["sample_id": "s1"]])) { response in
                        #expect(response.status == (name.lowercased() == "petr" ? .ok : .notFound), "\(name): \(String(buffer: response.body))")
                    }
                }
                try await client.execute(uri: "/metrics", method: .get, headers: harness.auth) { response in
                    #expect(response.status == .ok)
                    let series = String(buffer: response.body).split(separator: "\n")
                        .filter { $0.hasPrefix("podagent_inference_requests_total{") }.map(String.init).sorted()
                    #expect(series == [
                        #"podagent_inference_requests_total{model="(unknown)",outcome="not_found"} 3"#,
                        #"podagent_inference_requests_total{model="PETR",outcome="ok"} 2"#,
                    ], "\(series)")
                }
            }
        }
    }

    @Test("a model that is not loaded is 503; unload and load through the repository routes")
    func repositoryAndNotReady() async throws {
        // A repository load takes a checkpoint that exists inside the checkpoints dir (or a data root).
        let checkpoints = try TestSupport.workerWritableDirectory("checkpoints")
        defer { try? FileManager.default.removeItem(atPath: checkpoints) }
        try Data("weights".utf8).write(to: URL(fileURLWithPath: checkpoints + "/other.pth"))
        try await withHarness(models: ["PETR", "MapTR"], configure: { $0.checkpointsDir = checkpoints }) { harness in
            try await harness.test(live: true) { client in
                try await client.execute(uri: "/v2/repository/index", method: .get, headers: harness.auth) { response in
                    #expect(response.status == .ok)
                    let entries = response.body.list
                    #expect(entries.compactMap { $0["name"] as? String } == ["MapTR", "PETR"])
                    #expect(entries.allSatisfy { $0["state"] as? String == "READY" && $0["reason"] as? String == "" && $0["version"] is String })
                }
                try await client.execute(uri: "/v2/repository/models/mapTR/unload", method: .post, headers: harness.auth) { response in
                    #expect(response.status == .ok)
                    #expect(response.body.object["state"] as? String == "UNAVAILABLE")
                }
                try await client.execute(uri: "/models/MapTR/infer", method: .post, headers: harness.jsonHeaders, body: try jsonBody(["inputs": [:]])) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect((response.body.object["error"] as? String)?.contains("not ready") == true)
                }
                try await client.execute(uri: "/v2/models/MapTR/ready", method: .get, headers: harness.auth) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.body.object["ready"] as? Bool == false)
                }
                try await client.execute(uri: "/v2/repository/index", method: .post, headers: harness.jsonHeaders, body: try jsonBody(["ready": true])) { response in
                    #expect(response.body.list.compactMap { $0["name"] as? String } == ["PETR"])
                }
                try await client.execute(uri: "/v2/repository/models/MapTR/load", method: .post, headers: harness.jsonHeaders,
                                         body: try jsonBody(["parameters": ["checkpoint": checkpoints + "/other.pth"]])) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let entry = response.body.object
                    #expect(entry["state"] as? String == "READY")
                    #expect(entry["checkpoint"] as? String == checkpoints + "/other.pth")
                }
                try await client.execute(uri: "/v2/repository/models/MapTR/load", method: .post, headers: harness.jsonHeaders,
                                         body: try jsonBody(["parameters": ["weights": "x"]])) { response in
                    #expect(response.status == .badRequest)
                }
                try await client.execute(uri: "/v2/repository/models/yolo/load", method: .post, headers: harness.auth) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/v2/models/yolo/ready", method: .get, headers: harness.auth) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/models/MapTR/infer", method: .post, headers: harness.jsonHeaders, body: try jsonBody(["inputs": [:]])) {
                    #expect($0.status == .ok)
                }
            }
        }
    }

    @Test("OIP: ready, then infer with the sample as BYTES; the standard result comes back as BYTES", arguments: [false, true])
    func oipRoundTrip(live: Bool) async throws {
        try await withHarness { harness in
            let image = try harness.dataFile("front.jpg")
            try await harness.test(live: live) { client in
                try await client.execute(uri: "/v2/models/petr/ready", method: .get, headers: harness.auth) { response in
                    #expect(response.status == .ok)
                    #expect(response.body.object["ready"] as? Bool == true)
                }
                let sample = #"{"sample_id": "oip-1", "img_path": "\#(image)"}"#
                let body: [String: Any] = [
                    "id": "oip-request", "parameters": ["score_threshold": 0, "detections": 12],
                    "inputs": [["name": "sample", "datatype": "BYTES", "shape": [1], "data": [sample]],
                               ["name": "img_paths", "datatype": "BYTES", "shape": [1], "data": [image]]],
                ]
                try await client.execute(uri: "/v2/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: try jsonBody(body)) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let answer = response.body.object
                    #expect(answer["model_name"] as? String == "PETR")
                    #expect(answer["id"] as? String == "oip-request")
                    #expect(answer["model_version"] as? String == "1.0.0")
                    let parameters = try #require(answer["parameters"] as? [String: Any])
                    #expect(parameters["attempts"] as? Int == 1)
                    #expect((parameters["timings_s"] as? [String: Double])?["total_s"] != nil)
                    let output = try #require((answer["outputs"] as? [[String: Any]])?.first)
                    #expect(output["name"] as? String == "result" && output["datatype"] as? String == "BYTES" && output["shape"] as? [Int] == [1])
                    let text = try #require((output["data"] as? [String])?.first)
                    let result = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                    #expect((result["meta"] as? [String: Any])?["sample_id"] as? String == "oip-1")
                    #expect((result["detections"] as? [Any])?.count == 12)
                }
            }
            let seen = try harness.lastReceived().inputs
            #expect(seen["img_paths"]?.arrayValue?.first?.stringValue == image, "the extra BYTES input reached the engine as a list of paths")
            // A client-chosen id never names a directory: '..' with an upload leaves the state directory alone.
            try await harness.test(live: live) { client in
                let upload = #"{"img_path": {"base64": "aGVsbG8=", "filename": "x.jpg"}}"#
                let body: [String: Any] = ["id": "..", "inputs": [["name": "sample", "datatype": "BYTES", "shape": [1], "data": [upload]]]]
                try await client.execute(uri: "/v2/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: try jsonBody(body)) { response in
                    #expect(response.status == .ok)
                    #expect(response.body.object["id"] as? String == "..")
                }
            }
            #expect(FileManager.default.fileExists(atPath: harness.uploadsDir))
            #expect(harness.leftoverUploads.isEmpty)
            let uploaded = try harness.lastReceived().files.keys.first ?? ""
            #expect(uploaded.hasPrefix(harness.uploadsDir + "/") && !uploaded.contains(".."))
        }
    }

    @Test("base64 and multipart uploads reach the engine as files and are removed after the request, also when it fails", arguments: [false, true])
    func uploads(live: Bool) async throws {
        try await withHarness(models: ["PETR"]) { harness in
            let payload = "fake jpeg \(UUID().uuidString)"
            try await harness.test(live: live) { client in
                let base64 = Data(payload.utf8).base64EncodedString()
                let body = try jsonBody(["inputs": ["img_paths": [["base64": base64, "filename": "../../cam.jpg"]]]])
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: body) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
                var files = try harness.lastReceived().files
                let uploaded = try #require(files.first)
                #expect(uploaded.key.hasPrefix(harness.uploadsDir + "/"))
                #expect(uploaded.key.hasSuffix("-cam.jpg"), "the filename lost its directories: \(uploaded.key)")
                #expect(uploaded.value == Data(payload.utf8), "the engine read the uploaded bytes")
                #expect(!FileManager.default.fileExists(atPath: uploaded.key))
                #expect(harness.leftoverUploads.isEmpty)

                let boundary = "----podagent-test-\(UUID().uuidString.prefix(6))"
                let multipart = Self.multipart(boundary: boundary, parts: [
                    ("request", nil, #"{"inputs": {"img_path": "upload:front", "sample_id": "mp"}}"#),
                    ("front", "front.jpg", payload),
                ])
                var headers = harness.auth
                headers[.contentType] = "multipart/form-data; boundary=\"\(boundary)\""
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: headers, body: ByteBuffer(string: multipart)) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
                files = try harness.lastReceived().files
                let part = try #require(files.first)
                #expect(part.value == Data(payload.utf8))
                #expect(!FileManager.default.fileExists(atPath: part.key))
                #expect(harness.leftoverUploads.isEmpty)

                // A request that fails after its upload was written still removes it.
                let failing = Self.multipart(boundary: boundary, parts: [
                    ("request", nil, #"{"inputs": {"img_path": "upload:front"}, "options": {"fail": "error"}}"#), ("front", "f.jpg", payload),
                ])
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: headers, body: ByteBuffer(string: failing)) { response in
                    #expect(response.status == .internalServerError)
                }
                #expect(harness.leftoverUploads.isEmpty)

                // Strictness: unclosed body, unreferenced part, missing request part.
                for (bad, says) in [
                    (String(multipart.dropLast(boundary.count + 6)), "not closed by the boundary"),
                    (Self.multipart(boundary: boundary, parts: [("request", nil, #"{"inputs": {}}"#), ("extra", "e.jpg", "x")]), "'extra' is not referenced"),
                    (Self.multipart(boundary: boundary, parts: [("front", "f.jpg", "x")]), "the part named 'request'"),
                ] {
                    try await client.execute(uri: "/models/PETR/infer", method: .post, headers: headers, body: ByteBuffer(string: bad)) { response in
                        #expect(response.status == .badRequest)
                        let message = response.body.object["error"] as? String ?? ""
                        #expect(message.contains(says), "'\(message)'")
                    }
                }
                #expect(harness.leftoverUploads.isEmpty)
            }
        }
    }

    static func multipart(boundary: String, parts: [(name: String, filename: String?, body: String)]) -> String {
        var text = ""
        for part in parts {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
            if let filename = part.filename { text += "; filename=\"\(filename)\"\r\nContent-Type: image/jpeg" }
            text += "\r\n\r\n\(part.body)\r\n"
        }
        return text + "--\(boundary)--\r\n"
    }

    @Test("a full queue is 429 with Retry-After; a request past its deadline is 504 and the next one succeeds on a new worker")
    func overloadedAndTimeout() async throws {
        try await withHarness(queueLimit: 1) { harness in
            let engine = harness.agent.engine
            // Through the router: one live test connection would serialize the requests (HTTP/1.1).
            try await harness.test(live: false) { client in
                // Long enough that the second request surely queues behind the first on a loaded machine.
                let slow = try jsonBody(["inputs": [:], "options": ["infer_time_s": 10]])
                let quick = try jsonBody(["inputs": [:]])
                let headers = harness.jsonHeaders
                async let first = client.execute(uri: "/models/PETR/infer", method: .post, headers: headers, body: slow) { $0.status }
                #expect(await eventually { await engine.status(of: "PETR")?.instances.first?.state == "busy" })
                async let second = client.execute(uri: "/models/PETR/infer", method: .post, headers: headers, body: quick) { $0.status }
                #expect(await eventually { await engine.status(of: "PETR")?.queued == 1 })
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: headers, body: slow) { response in
                    #expect(response.status == .tooManyRequests)
                    // A tenth of the model's deadline (60 s here).
                    #expect(response.headers[.retryAfter] == "6")
                }
                #expect(try await first == .ok)
                #expect(try await second == .ok)
            }
        }
        try await withHarness { harness in
            let before = await harness.workerPID("PETR")
            try await harness.test(live: false) { client in
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders,
                                         body: try jsonBody(["inputs": [:], "options": ["fail": "hang", "timeout_s": 1]])) { response in
                    #expect(response.status == .gatewayTimeout)
                    #expect((response.body.object["error"] as? String)?.contains("did not answer request") == true)
                }
                try await client.execute(uri: "/models/PETR/infer", method: .post, headers: harness.jsonHeaders, body: try jsonBody(["inputs": [:]])) {
                    #expect($0.status == .ok)
                }
            }
            let after = await harness.workerPID("PETR")
            #expect(before != nil && after != nil && before != after)
            if let before { #expect(kill(before, 0) != 0, "the hung worker is gone") }
        }
    }
}
