import Foundation
import Testing
@testable import Plugins

@Suite("Manifests")
struct ManifestTests {
    @Test("the five shipped manifests load, with the spec's pinned commits and classes")
    func shippedManifests() throws {
        let all = try ManifestLoader.loadDirectory(Fixture.pluginsDirectory)
        #expect(all.map(\.name) == ["Demo", "MapTR", "PETR", "StreamPETR", "TopoMLP", "VAD"])
        // Demo is the synthetic model: it says so and declares no files.
        let demo = try #require(all.first { $0.name == "Demo" })
        #expect(demo.isSynthetic && demo.config.isEmpty && demo.checkpoint.file.isEmpty)
        let manifests = all.filter { !$0.isSynthetic }
        let commits = Dictionary(uniqueKeysWithValues: manifests.map { ($0.name, $0.upstream.commit) })
        // Full 40-hex commits (shared/specs/model-environments.md): an image is built from exactly one commit.
        #expect(commits == [
            "MapTR": "a6872d8d9670bde17b4b01560f1221f88b443d55", "PETR": "f7525f93467a33707ef401c587a52d5e7b34de74",
            "StreamPETR": "95f64702306ccdb7a78889578b2a55b5deb35b2a", "TopoMLP": "8925967985b919a84c33b1743c0df8d4d793f130",
            "VAD": "1688c4b1c3a9e2e7873ca9700ff8058170c0e3c8",
        ])
        #expect(manifests.allSatisfy { $0.environment != nil }, "every real model states its whole environment")
        let petr = try #require(manifests.first { $0.name == "PETR" })
        #expect(petr.classNames.first == "car" && petr.classNames.last == "traffic_cone" && petr.classNames.count == 10)
        #expect(petr.versions.mmdet3d == "0.17.1")
        #expect(petr.timeoutSeconds == 600)
        let stream = try #require(manifests.first { $0.name == "StreamPETR" })
        #expect(stream.versions.mmdet3d == "1.0.0rc6" && stream.versions.mmcv == "1.6.0")
        let streamEnvironment = try #require(stream.environment)
        #expect(streamEnvironment.python.version == "3.8")
        #expect(streamEnvironment.provider(of: "flash_attn") == "pip flash-attn==0.2.2")
        #expect(streamEnvironment.provider(of: "mmdet3d") == "https://github.com/open-mmlab/mmdetection3d at mmdetection3d")
        #expect(streamEnvironment.repositories.first?.commit == "47285b3f1e9dba358e98fcd12e523cfd0769c876")
        #expect(streamEnvironment.declaredArchitectures["flash-attn 0.2.2"] == ["7.5", "8.0"])
        let maptr = try #require(manifests.first { $0.name == "MapTR" }?.environment)
        #expect(maptr.provider(of: "GeometricKernelAttention") == "op built from projects/mmdet3d_plugin/maptr/modules/ops/geometric_kernel_attn")
        #expect(maptr.version(of: "mmdet3d") == "0.17.2" && maptr.version(of: "torch") == "1.9.1")
        let vad = try #require(manifests.first { $0.name == "VAD" })
        #expect(vad.tasks == [.detection3d, .vectormap, .planning])
        #expect(vad.defaultScoreThreshold == 0.2)
        for manifest in manifests {
            _ = try PluginRegistry.standard.plugin(for: manifest)
        }
    }

    static let valid = """
        name: Custom
        version: 0.1.0
        parser: detection3d-mmdet3d-0.17
        tasks: [detection3d]
        upstream: {repository: https://example.org/custom, commit: abcdef0}
        config: /opt/models/custom/config.py
        checkpoint: {file: custom.pth}
        class_names: [car, pedestrian]
        default_score_threshold: 0.3
        point_cloud_range: [-51.2, -51.2, -5, 51.2, 51.2, 3]
        versions: {pytorch: 1.9.1, cuda: '11.1', mmcv: 1.4.0, mmdet3d: 0.17.1, base_image: 'pytorch/pytorch:1.9.1'}
        worker: {command: [python3, worker.py], mode: warm}
        """

    static let withEnvironment = valid + """

        environment:
          python: {version: '3.8', cite: docs/install.md}
          cuda_architectures: {targets: ['8.0', '8.6+PTX'], cite: setup.py}
          packages: [{name: einops, version: 0.6.0, cite: requirements.txt}]
          repositories: [{path: mmdetection3d, repository: 'https://github.com/open-mmlab/mmdetection3d', commit: 47285b3f1e9dba358e98fcd12e523cfd0769c876, develop: true, modules: [mmdet3d], cite: docs/setup.md}]
        """

    @Test("an environment is read whole")
    func environment() throws {
        let manifest = try ManifestLoader.parse(Self.withEnvironment, path: "custom/plugin.yaml")
        let environment = try #require(manifest.environment)
        #expect(environment.packages.first?.providedModules == ["einops"])
        #expect(environment.provider(of: "mmdet3d") == "https://github.com/open-mmlab/mmdetection3d at mmdetection3d")
        #expect(environment.provider(of: "av2") == nil)
        #expect(environment.declaredArchitectures == ["CUDA ops built in the image": ["8.0", "8.6+PTX"]])
    }

    @Test("a bad environment stops with the key and problem", arguments: [
        (withEnvironment.replacingOccurrences(of: "commit: 47285b3f1e9dba358e98fcd12e523cfd0769c876", with: "commit: 47285b3"), "key 'environment.repositories[0].commit' (line 17): expected a full 40-hex commit hash, got '47285b3'"),
        (withEnvironment.replacingOccurrences(of: "version: 0.6.0", with: "version: '>=0.6'"), "key 'environment.packages[0].version'"),
        (withEnvironment.replacingOccurrences(of: "path: mmdetection3d", with: "path: ../elsewhere"), "key 'environment.repositories[0].path'"),
        (withEnvironment.replacingOccurrences(of: "{name: einops,", with: "{name: einops, find_links: 'http://plain.example', "), "key 'environment.packages[0].find_links'"),
        (withEnvironment.replacingOccurrences(of: "targets: ['8.0', '8.6+PTX']", with: "targets: [sm_80]"), "key 'environment.cuda_architectures.targets'"),
        (withEnvironment.replacingOccurrences(of: "cite: requirements.txt}", with: "}"), "key 'environment.packages[0].cite': missing"),
        (withEnvironment + "\n  conda: yes", "key 'environment.conda'"),
    ])
    func badEnvironment(text: String, expected: String) {
        #expect {
            _ = try ManifestLoader.parse(text, path: "/plugins/Custom/plugin.yaml")
        } throws: { error in
            guard let error = error as? PluginError else { return false }
            return error.message.hasPrefix("/plugins/Custom/plugin.yaml: ") && error.message.contains(expected)
        }
    }

    @Test("a new model of a standard kind needs only a manifest")
    func manifestOnlyModel() throws {
        let manifest = try ManifestLoader.parse(Self.valid, path: "custom/plugin.yaml")
        #expect(manifest.retries == 0 && manifest.timeoutSeconds == 600)
        #expect(manifest.worker.options.isEmpty)
        let withOptions = try ManifestLoader.parse(
            Self.valid.replacingOccurrences(of: "worker: {command: [python3, worker.py], mode: warm}", with: "worker: {command: [python3, worker.py], mode: warm, options: {load_time_s: 1.5, format: petr, warm: true, sizes: [1, 2]}}"),
            path: "custom/plugin.yaml")
        #expect(withOptions.worker.options == ["load_time_s": .number(1.5), "format": .string("petr"), "warm": .bool(true), "sizes": .array([.number(1), .number(2)])])
        let plugin = try PluginRegistry.standard.plugin(for: manifest)
        let raw = #"{"pts_bbox": {"boxes_3d": [[1,2,-1,2,4,1.5,0,0,0]], "scores_3d": [0.9], "labels_3d": [1]}}"#
        let result = try plugin.parse(raw: JSONReader.parse(raw))
        #expect(result.detections?.first?.label == "pedestrian")
    }

    @Test("bad manifests stop with the file, key and problem", arguments: [
        ("name: [unclosed", "not valid YAML"),
        (valid.replacingOccurrences(of: "parser: detection3d-mmdet3d-0.17", with: "parser: yolo"), "key 'parser': unknown parser 'yolo'"),
        (valid.replacingOccurrences(of: "config: /opt/models/custom/config.py\n", with: ""), "key 'config': missing"),
        (valid + "\ncolour: blue", "key 'colour'"),
        (valid.replacingOccurrences(of: "commit: abcdef0", with: "commit: main"), "key 'upstream.commit'"),
        (valid.replacingOccurrences(of: "mode: warm", with: "mode: lukewarm"), "key 'worker.mode'"),
        (valid.replacingOccurrences(of: "default_score_threshold: 0.3", with: "default_score_threshold: high"), "key 'default_score_threshold'"),
        (valid.replacingOccurrences(of: "[-51.2, -51.2, -5, 51.2, 51.2, 3]", with: "[1, 2, 3]"), "key 'point_cloud_range'"),
        (valid.replacingOccurrences(of: "tasks: [detection3d]", with: "tasks: [segmentation]"), "unknown task kind 'segmentation'"),
        (valid + "\nretries: 1.5", "key 'retries' (line 13): expected an integer, got '1.5'"),
        (valid + "\nuse_external: sometimes", "key 'use_external' (line 13): expected true or false, got 'sometimes'"),
    ])
    func badManifest(text: String, expected: String) {
        #expect {
            _ = try ManifestLoader.parse(text, path: "/plugins/Custom/plugin.yaml")
        } throws: { error in
            guard let error = error as? PluginError else { return false }
            return error.message.hasPrefix("/plugins/Custom/plugin.yaml: ") && error.message.contains(expected)
        }
    }

    /// The exports write it as nuScenes meta.use_external; the config's `input_modality` is where models say it
    /// (StreamPETR stream_petr_r50_flash_704_bs2_seq_24e.py l.29-34, PETR petr_r50dcn_gridmask_p4.py l.20-25).
    @Test("use_external: false unless declared; validate compares it with the config's input_modality.use_external")
    func useExternal() throws {
        var manifest = try ManifestLoader.parse(Self.valid, path: "custom/plugin.yaml")
        #expect(manifest.useExternal == false)
        #expect(try ManifestLoader.parse(Self.valid + "\nuse_external: true", path: "custom/plugin.yaml").useExternal)
        manifest.configChecks = PluginManifest.ConfigChecks()
        let literals = try JSONReader.parse(#"{"assignments": {}, "keywords": {"input_modality.use_external": true}}"#)
        #expect(try ConfigCheck.problems(manifest: manifest, literals: literals, configPath: "c.py")
            == ["c.py: 'input_modality.use_external' is true but the plugin's use_external is false"])
        manifest.useExternal = true
        #expect(try ConfigCheck.problems(manifest: manifest, literals: literals, configPath: "c.py").isEmpty)
        // A config that does not set it literally has nothing to compare.
        manifest.useExternal = false
        #expect(try ConfigCheck.problems(manifest: manifest, literals: JSONReader.parse(#"{"assignments": {}, "keywords": {}}"#), configPath: "c.py").isEmpty)
    }

    @Test("a line number is given for a wrong value")
    func lineNumber() {
        let text = Self.valid.replacingOccurrences(of: "default_score_threshold: 0.3", with: "default_score_threshold: 7")
        #expect(throws: PluginError(.invalidManifest, "x.yaml: key 'default_score_threshold' (line 9): 7.0 is out of range 0.0...1.0")) {
            _ = try ManifestLoader.parse(text, path: "x.yaml")
        }
    }

    @Test("two manifests with one name are refused")
    func duplicateNames() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plugins-dup-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for folder in ["A", "B"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(folder)", withIntermediateDirectories: true)
            try Self.valid.write(toFile: "\(dir)/\(folder)/plugin.yaml", atomically: true, encoding: .utf8)
        }
        #expect {
            _ = try ManifestLoader.loadDirectory(dir)
        } throws: { error in
            (error as? PluginError)?.message.contains("already declared by \(dir)/A/plugin.yaml") == true
        }
    }
}
