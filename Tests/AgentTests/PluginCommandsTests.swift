import Foundation
import Testing

@testable import Agent

/// The real podagent binary's `plugins`, `parse` and `validate`, run as child processes.
@Suite("podagent plugins / parse / validate")
struct PluginCommandsTests {
    static func podagent(_ arguments: [String]) async throws -> CommandRunner.Output {
        let binary = ModelsTestSupport.podagentBinary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build podagent first (swift build)")
        let spec = ProcessSpec(
            executable: binary, arguments: arguments + ["--plugins-dir", ModelsTestSupport.pluginsDir],
            environment: ModelsTestSupport.environment())
        return try await ModelsTestSupport.runner.run(spec, timeout: .seconds(60))
    }

    static func fixture(_ name: String) -> String { "\(ModelsTestSupport.fixtures)/\(name)" }

    @Test("parse exits 2 with the error on truncated input, and writes nothing")
    func parseBadInput() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("cli-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = try await Self.podagent(["parse", "--model", "PETR", "--input", Self.fixture("petr_truncated.json"), "--output", "\(dir)/out.json"])
        #expect(output.status == .exited(2))
        #expect(output.stderr.hasPrefix("podagent: error: \(Self.fixture("petr_truncated.json")): truncated JSON"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/out.json"))
        let shape = try await Self.podagent(["parse", "--model", "VAD", "--input", Self.fixture("vad_wrong_shape.json")])
        #expect(shape.status == .exited(2))
        #expect(shape.stderr.contains("key 'pts_bbox.trajs_3d': expected shape (N,6,12), got shape (8,6,6,2)"))
        let format = try await Self.podagent(["parse", "--model", "PETR", "--input", Self.fixture("petr_typical.json"), "--format", "kitti"])
        #expect(format.status == .exited(2) && format.stderr.contains("--format: 'kitti'"))
        let calibration = try await Self.podagent(["parse", "--model", "PETR", "--input", Self.fixture("petr_typical.json"), "--format", "nuscenes"])
        #expect(calibration.status == .exited(2) && calibration.stderr.contains("needs per-sample calibration"))
    }

    @Test("parse writes the standard result and the nuScenes submission")
    func parseGood() async throws {
        let standard = try await Self.podagent(["parse", "--model", "PETR", "--input", Self.fixture("petr_typical.json"), "--score-threshold", "0.5"])
        #expect(standard.status == .exited(0), "\(standard.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(standard.stdout.utf8)) as? [String: Any]
        #expect((result?["detections"] as? [Any])?.count == 4)
        #expect(result?["schema_version"] as? String == "1.0")
        let nusc = try await Self.podagent([
            "parse", "--model", "StreamPETR", "--input", Self.fixture("streampetr_typical.json"), "--format", "nuscenes",
            "--calibration", Self.fixture("calibration.json"),
        ])
        #expect(nusc.status == .exited(0), "\(nusc.stderr)")
        let submission = try JSONSerialization.jsonObject(with: Data(nusc.stdout.utf8)) as? [String: Any]
        let boxes = (submission?["results"] as? [String: Any])?["tok_stream"] as? [[String: Any]]
        #expect(boxes?.count == 6)
        #expect(boxes?.first?["attribute_name"] as? String == "vehicle.moving")
    }

    @Test("parse --format openlane --pickle writes the devkit's pickle through python3")
    func openLanePickle() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("cli-openlane")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await Self.podagent([
            "parse", "--model", "TopoMLP", "--input", Self.fixture("topomlp_typical.json"), "--format", "openlane",
            "--output", "\(dir)/sub.json", "--pickle", "\(dir)/sub.pkl",
        ])
        #expect(run.status == .exited(0), "\(run.stderr)")
        let check = try await ModelsTestSupport.python(["-c", """
            import pickle, sys
            data = pickle.load(open(sys.argv[1], 'rb'))
            key = ('val', '00001', '315969904949927216')
            p = data['results'][key]['predictions']
            print(len(p['lane_centerline']), p['topology_lclc'].shape, p['topology_lcte'].shape, p['lane_centerline'][0]['points'].shape, p['lane_centerline'][0]['id'])
            """, "\(dir)/sub.pkl"])
        #expect(check.status == .exited(0), "\(check.stderr)")
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5 (5, 5) (5, 3) (11, 3) 1000")
    }

    @Test("parse --submission-info: the OpenLane-V2 header in the JSON and the pickle; a bad one exits 2 naming the key")
    func submissionInfo() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("cli-submission")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await Self.podagent([
            "parse", "--model", "TopoMLP", "--input", Self.fixture("topomlp_typical.json"), "--format", "openlane",
            "--submission-info", Self.fixture("submission_info.json"), "--output", "\(dir)/sub.json", "--pickle", "\(dir)/sub.pkl",
        ])
        #expect(run.status == .exited(0), "\(run.stderr)")
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/sub.json"))) as? [String: Any]
        #expect(written?["country / region"] as? String == "Germany")
        #expect(written?["authors"] as? [String] == ["A. Author", "B. Author"])
        let check = try await ModelsTestSupport.python(["-c", """
            import pickle, sys
            data = pickle.load(open(sys.argv[1], 'rb'))
            print(sorted(k for k in data if k != 'results'), data['country / region'], data['authors'])
            """, "\(dir)/sub.pkl"])
        #expect(check.status == .exited(0), "\(check.stderr)")
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            == "['authors', 'country / region', 'e-mail', 'institution / company', 'method'] Germany ['A. Author', 'B. Author']")

        try #"{"method": "M", "authors": [], "e-mail": "a@b.org", "institution / company": "I", "country / region": "Narnia"}"#
            .write(toFile: "\(dir)/bad.json", atomically: true, encoding: .utf8)
        let bad = try await Self.podagent([
            "parse", "--model", "TopoMLP", "--input", Self.fixture("topomlp_typical.json"), "--format", "openlane",
            "--submission-info", "\(dir)/bad.json", "--output", "\(dir)/bad-out.json",
        ])
        #expect(bad.status == .exited(2))
        #expect(bad.stderr.contains("\(dir)/bad.json: key 'country / region': 'Narnia' is not an ISO 3166 country"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/bad-out.json"))
        let missing = try await Self.podagent([
            "parse", "--model", "TopoMLP", "--input", Self.fixture("topomlp_typical.json"), "--format", "openlane",
            "--submission-info", "\(dir)/none.json",
        ])
        #expect(missing.status == .exited(2) && missing.stderr.contains("\(dir)/none.json: cannot read the submission info file"))
        let wrongFormat = try await Self.podagent([
            "parse", "--model", "PETR", "--input", Self.fixture("petr_typical.json"), "--format", "standard",
            "--submission-info", Self.fixture("submission_info.json"),
        ])
        #expect(wrongFormat.status == .exited(2) && wrongFormat.stderr.contains("--submission-info needs --format openlane"))
    }

    @Test("plugins lists the five models and the synthetic Demo; validate prints every problem and exits 1")
    func pluginsAndValidate() async throws {
        let list = try await Self.podagent(["plugins", "--json"])
        #expect(list.status == .exited(0), "\(list.stderr)")
        let entries = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(entries?.compactMap { ($0["manifest"] as? [String: Any])?["name"] as? String } == ["Demo", "MapTR", "PETR", "StreamPETR", "TopoMLP", "VAD"])
        let text = try await Self.podagent(["plugins"])
        #expect(text.stdout.contains("PETR 1.0.0  disabled  tasks: detection3d  parser: petr"))

        let dir = try ModelsTestSupport.temporaryDirectory("cli-validate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            point_cloud_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
            class_names = ['car']
            input_modality = dict(use_lidar=False, use_camera=True, use_radar=False, use_map=False, use_external=True)

            """.write(toFile: "\(dir)/petr.py", atomically: true, encoding: .utf8)
        let validate = try await Self.podagent(["validate", "--model", "petr", "--config", "\(dir)/petr.py", "--checkpoint", "\(dir)/missing.pth"])
        #expect(validate.status == .exited(1))
        let lines = validate.stdout.split(separator: "\n")
        #expect(lines.count == 5, "\(validate.stdout)")
        #expect(lines.contains { $0.contains("'input_modality.use_external' is true but the plugin's use_external is false") })
        // The GPU check imports torch as the worker does; the test machine has none.
        #expect(lines.contains { $0.contains("cannot check the GPU: ModuleNotFoundError: No module named 'torch'") }, "\(validate.stdout)")
        #expect(lines.contains { $0.contains("'class_names' is [\"car\"]") })
        #expect(lines.contains { $0.contains("'model.pts_bbox_head.num_classes' is not set to a literal number") })
        #expect(lines.contains { $0.hasSuffix("checkpoint \(dir)/missing.pth does not exist") })
        let demo = try await Self.podagent(["validate", "--model", "demo"])  // synthetic: no GPU code, no GPU check
        #expect(demo.status == .exited(0) && demo.stdout.contains("synthetic model: no config or checkpoint to check"), "\(demo.stdout)\(demo.stderr)")
        let unknown = try await Self.podagent(["validate", "--model", "yolo"])
        #expect(unknown.status == .exited(2) && unknown.stderr.contains("unknown model 'yolo'"))
    }

    /// `validate` makes the worker's GPU check. No GPU exists here: a STAND-IN torch
    /// (Tests/python/standins) reports the device's capability and its arch list.
    static func validateWithStandinTorch(_ model: String, capability: String, name: String) async throws -> CommandRunner.Output {
        let binary = ModelsTestSupport.podagentBinary
        let dir = try ModelsTestSupport.temporaryDirectory("gpu-validate")
        try "x = 1\n".write(toFile: "\(dir)/config.py", atomically: true, encoding: .utf8)
        try Data("weights".utf8).write(to: URL(fileURLWithPath: "\(dir)/weights.pth"))
        let standins = TestSupport.repoRoot.appendingPathComponent("Tests/python/standins").path
        let spec = ProcessSpec(
            executable: binary,
            arguments: ["validate", "--model", model, "--config", "\(dir)/config.py", "--checkpoint", "\(dir)/weights.pth", "--plugins-dir", ModelsTestSupport.pluginsDir],
            environment: ModelsTestSupport.environment([
                // The stand-in torch needs numpy: the Python on PATH (install-deps gives it numpy), not the workers' one.
                "PODAGENT_INFERENCE_PYTHON": "python3", "PYTHONPATH": standins,
                "STANDIN_CUDA_CAPABILITY": capability, "STANDIN_CUDA_NAME": name, "STANDIN_CUDA_COUNT": "1",
            ]))
        return try await ModelsTestSupport.runner.run(spec, timeout: .seconds(60))
    }

    @Test("validate reports an H100 that StreamPETR's image cannot serve, with a stand-in torch")
    func validateGPUWithStandinTorch() async throws {
        let h100 = try await Self.validateWithStandinTorch("StreamPETR", capability: "9.0", name: "NVIDIA H100 80GB HBM3")
        #expect(h100.status == .exited(1))
        let line = h100.stdout.split(separator: "\n").first { $0.contains("NVIDIA H100 80GB HBM3") } ?? ""
        #expect(line.hasPrefix("StreamPETR: GPU 0 NVIDIA H100 80GB HBM3 has compute capability 9.0 (sm_90), which this image cannot run"), "\(h100.stdout)\(h100.stderr)")
        #expect(line.contains("torch 1.9.1+standin has kernels for sm_37, sm_50, sm_60, sm_70, sm_75, sm_80, sm_86 (no PTX"))
        #expect(line.contains("flash-attn 0.2.2 is built for sm_75, sm_80"))
        let l40s = try await Self.validateWithStandinTorch("StreamPETR", capability: "8.9", name: "NVIDIA L40S")
        #expect(l40s.stdout.contains("StreamPETR: GPU 0 NVIDIA L40S (sm_89): this image's torch 1.9.1+standin and compiled code run on it"), "\(l40s.stdout)\(l40s.stderr)")
        #expect(!l40s.stdout.contains("cannot run"))
    }
}
