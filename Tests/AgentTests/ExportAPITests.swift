import Foundation
import Hummingbird
import HummingbirdTesting
import Plugins
import Testing

@testable import Agent

/// The export formats over the HTTP API, each as its model's own code writes it (the real engine runs each
/// model's stand-in worker, the Demo worker in its raw format; the real manifests and plugins parse and export).
@Suite("HTTP API: exports follow each model's code; options.submission_info", .serialized)
struct ExportAPITests {
    static var identity: [String: Any] { [
        "lidar2ego_rotation": [1, 0, 0, 0], "lidar2ego_translation": [0, 0, 0],
        "ego2global_rotation": [1, 0, 0, 0], "ego2global_translation": [0, 0, 0],
    ] }

    /// VAD nuscenes_vad_dataset.py l.1516 (fut_traj per box), l.1539/l.1552 (map_results by token), config l.36
    /// (use_external=True); every map vector kept (l.1483 thresholds boxes only).
    @Test("VAD: nuscenes carries fut_traj and use_external true; nuscmap is map_results keyed by token, unthresholded")
    func vadExports() async throws {
        try await withHarness(models: ["VAD"]) { harness in
            try await harness.test(live: false) { client in
                let nuscenes = try jsonBody([
                    "inputs": ["sample_id": "tok1", "calibration": Self.identity],
                    "options": ["format": "nuscenes", "detections": 20, "score_threshold": 0],
                ])
                try await client.execute(uri: "/models/VAD/infer", method: .post, headers: harness.jsonHeaders, body: nuscenes) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let export = try response.body.json
                    #expect((export["meta"] as? [String: Any])?["use_external"] as? Bool == true)
                    let boxes = try #require((export["results"] as? [String: Any])?["tok1"] as? [[String: Any]])
                    #expect(!boxes.isEmpty)
                    for box in boxes {
                        let trajectory = try #require(box["fut_traj"] as? [[Double]])
                        #expect(trajectory.count == 6 && trajectory.allSatisfy { $0.count == 12 })
                    }
                }
                let nuscmap = try jsonBody(["inputs": ["sample_id": "tok2"], "options": ["format": "nuscmap", "score_threshold": 0.99]])
                try await client.execute(uri: "/models/VAD/infer", method: .post, headers: harness.jsonHeaders, body: nuscmap) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let export = try response.body.json
                    #expect(export["results"] == nil)
                    let byToken = try #require(export["map_results"] as? [String: Any])
                    let entry = try #require(byToken["tok2"] as? [String: Any])
                    #expect(entry["sample_token"] as? String == "tok2")
                    // The Demo's VAD map vectors score below 0.99: VAD keeps them all anyway.
                    let vectors = try #require(entry["vectors"] as? [[String: Any]])
                    #expect(!vectors.isEmpty)
                    #expect(vectors.contains { ($0["confidence_level"] as? Double ?? 1) < 0.99 })
                }
            }
        }
    }

    /// OpenLane-V2 v1.0.0 check.py l.43-64: the header's five keys; ours checks them when the request is read.
    @Test("TopoMLP: options.submission_info heads the openlane export; a bad one is 400 naming the key")
    func submissionInfo() async throws {
        try await withHarness(models: ["TopoMLP"]) { harness in
            try await harness.test(live: false) { client in
                let info: [String: Any] = [
                    "method": "TopoMLP", "authors": ["A. Author"], "e-mail": "team@example.org",
                    "institution / company": "Example University", "country / region": "CN",
                ]
                let good = try jsonBody([
                    "inputs": ["sample_id": "val/00001/315969904949927216"], "options": ["format": "openlane", "submission_info": info],
                ])
                try await client.execute(uri: "/models/TopoMLP/infer", method: .post, headers: harness.jsonHeaders, body: good) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let export = try response.body.json
                    #expect(export["country / region"] as? String == "CN")
                    #expect(export["authors"] as? [String] == ["A. Author"])
                    #expect((export["results"] as? [String: Any])?["val/00001/315969904949927216"] != nil)
                }
                var wrong = info
                wrong["authors"] = (1...11).map { "Author \($0)" }
                let tooMany = try jsonBody(["inputs": ["sample_id": "val/1/2"], "options": ["format": "openlane", "submission_info": wrong]])
                try await client.execute(uri: "/models/TopoMLP/infer", method: .post, headers: harness.jsonHeaders, body: tooMany) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.body.object["error"] as? String
                        == "options.submission_info: key 'authors': 11 authors, the OpenLane-V2 devkit allows at most 10")
                }
                let standard = try jsonBody(["inputs": ["sample_id": "val/1/2"], "options": ["submission_info": info]])
                try await client.execute(uri: "/models/TopoMLP/infer", method: .post, headers: harness.jsonHeaders, body: standard) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.body.object["error"] as? String == "options.submission_info needs options.format openlane")
                }
            }
        }
    }

    /// A job's options are checked when it is submitted, by the same reader.
    @Test("jobs: a bad submission_info is refused at submission")
    func jobSubmissionInfo() async throws {
        try await withHarness(models: ["TopoMLP"]) { harness in
            try await harness.test(live: false) { client in
                let body = try jsonBody([
                    "model": "TopoMLP", "inputs": ["sample_id": "val/1/2"],
                    "options": ["format": "openlane", "submission_info": ["method": "M"]],
                ])
                try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders, body: body) { response in
                    #expect(response.status == .badRequest)
                    #expect((response.body.object["error"] as? String)?.hasPrefix("options.submission_info: key ") == true)
                }
            }
        }
    }
}
