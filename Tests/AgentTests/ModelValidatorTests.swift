import Foundation
import Plugins
import Testing

@testable import Agent

/// `validate` against configs written in each model's own config style, read by Plugins/read_config.py.
@Suite("Checks before inference")
struct ModelValidatorTests {
    static let nuScenesClasses = """
        class_names = [
            'car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
            'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone'
        ]
        """

    /// PETR-style: plugin imports, literal lists, a nested model dict.
    static let petrConfig = """
        _base_ = ['../../../mmdetection3d/configs/_base_/datasets/nus-3d.py']
        plugin = True
        plugin_dir = 'projects/mmdet3d_plugin/'
        point_cloud_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
        voxel_size = [0.2, 0.2, 8]
        img_norm_cfg = dict(mean=[103.530, 116.280, 123.675], std=[57.375, 57.120, 58.395], to_rgb=False)
        \(nuScenesClasses)
        input_modality = dict(use_lidar=False, use_camera=True, use_radar=False, use_map=False, use_external=False)
        model = dict(
            type='Petr3D',
            use_grid_mask=True,
            pts_bbox_head=dict(
                type='PETRHead',
                num_classes=10,
                in_channels=2048,
                num_query=900,
                bbox_coder=dict(type='NMSFreeCoder', post_center_range=[-61.2, -61.2, -10.0, 61.2, 61.2, 10.0],
                                pc_range=point_cloud_range, max_num=300, voxel_size=voxel_size, num_classes=10)))
        """

    /// MapTR-style: the class count is `len(map_classes)` through a variable.
    static let maptrConfig = """
        point_cloud_range = [-15.0, -30.0, -2.0, 15.0, 30.0, 2.0]
        map_classes = ['divider', 'ped_crossing', 'boundary']
        fixed_ptsnum_per_gt_line = 20
        num_map_classes = len(map_classes)
        model = dict(
            type='MapTR',
            pts_bbox_head=dict(type='MapTRHead', num_vec=50, num_pts_per_vec=fixed_ptsnum_per_gt_line,
                               num_classes=num_map_classes, code_size=2))
        """

    static func manifest(_ name: String) throws -> PluginManifest {
        try ManifestLoader.load(path: "\(ModelsTestSupport.pluginsDir)/\(name)/plugin.yaml")
    }

    static func write(_ text: String, _ path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    let validator = ModelValidator(runner: ModelsTestSupport.runner, pluginsDir: ModelsTestSupport.pluginsDir)

    @Test("configs that agree and a non-empty checkpoint pass")
    func agreeing() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("validate-ok")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write(Self.petrConfig, "\(dir)/petr.py")
        try Self.write(Self.maptrConfig, "\(dir)/maptr.py")
        try Data(repeating: 7, count: 1024).write(to: URL(fileURLWithPath: "\(dir)/model.pth"))
        let petr = await validator.problems(manifest: try Self.manifest("PETR"), config: "\(dir)/petr.py", checkpoint: "\(dir)/model.pth", checkpointsDir: dir)
        #expect(petr == [])
        let maptr = await validator.problems(manifest: try Self.manifest("MapTR"), config: "\(dir)/maptr.py", checkpoint: "\(dir)/model.pth", checkpointsDir: dir)
        #expect(maptr == [])
    }

    @Test("every disagreement is reported, each naming the config key")
    func disagreeing() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("validate-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let swapped = Self.petrConfig
            .replacingOccurrences(of: "'car', 'truck'", with: "'truck', 'car'")
            .replacingOccurrences(of: "num_classes=10,\n        in_channels", with: "num_classes=9,\n        in_channels")
            .replacingOccurrences(of: "[-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]", with: "[-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]")
        try Self.write(swapped, "\(dir)/petr.py")
        try Data().write(to: URL(fileURLWithPath: "\(dir)/empty.pth"))
        let problems = await validator.problems(manifest: try Self.manifest("PETR"), config: "\(dir)/petr.py", checkpoint: "\(dir)/empty.pth", checkpointsDir: dir)
        #expect(problems.count == 4, "\(problems)")
        #expect(problems.contains { $0.contains("'class_names' is [\"truck\", \"car\"") })
        #expect(problems.contains { $0.contains("'model.pts_bbox_head.num_classes' is 9 but the plugin has 10 classes") })
        #expect(problems.contains { $0.contains("'point_cloud_range' is [-54, -54, -5, 54, 54, 3]") })
        #expect(problems.contains { $0 == "checkpoint \(dir)/empty.pth is empty" })
    }

    @Test("a config that is not Python, a missing config and a missing checkpoint are reported")
    func unreadable() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("validate-syntax")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write("model = dict(\n  type='TopoMLP',\n", "\(dir)/broken.py")
        let broken = await validator.problems(manifest: try Self.manifest("TopoMLP"), config: "\(dir)/broken.py", checkpoint: "\(dir)/none.pth", checkpointsDir: dir)
        #expect(broken.count == 2)
        #expect(broken.first?.hasPrefix("\(dir)/broken.py: line") == true && broken.first?.contains("not a Python config") == true)
        #expect(broken.last == "checkpoint \(dir)/none.pth does not exist")
        let missing = await validator.problems(manifest: try Self.manifest("VAD"), config: "\(dir)/none.py", checkpoint: nil, checkpointsDir: dir)
        #expect(missing == ["config \(dir)/none.py does not exist", "checkpoint \(dir)/VAD_base.pth does not exist"])
    }

    @Test("the checkpoint's sha256 is compared when the manifest has one")
    func sha256() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("validate-sha")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write(Self.petrConfig, "\(dir)/petr.py")
        try Data("abc".utf8).write(to: URL(fileURLWithPath: "\(dir)/model.pth"))
        var manifest = try Self.manifest("PETR")
        // sha256("abc"), from FIPS 180-2's example.
        manifest.checkpoint.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        #expect(await validator.problems(manifest: manifest, config: "\(dir)/petr.py", checkpoint: "\(dir)/model.pth", checkpointsDir: dir) == [])
        manifest.checkpoint.sha256 = String(repeating: "0", count: 64)
        let problems = await validator.problems(manifest: manifest, config: "\(dir)/petr.py", checkpoint: "\(dir)/model.pth", checkpointsDir: dir)
        #expect(problems == ["checkpoint \(dir)/model.pth has sha256 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad, the manifest expects \(String(repeating: "0", count: 64))"])
    }

    @Test("TopoMLP- and VAD-style configs: nested heads and map classes")
    func topoAndVAD() async throws {
        let dir = try ModelsTestSupport.temporaryDirectory("validate-topo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write("""
            custom_imports = dict(imports=['projects.topomlp'])
            method_para = dict(n_control=4)
            _dim_ = 256
            point_cloud_range = [-51.2, -25.6, -8, 51.2, 25.6, 4]
            model = dict(type='TopoMLP',
                lc_head=dict(type='LaneHead', num_classes=1, num_lane=1800, num_reg_dim=method_para['n_control'] * 3),
                te_head=dict(type='TrafficHead', num_query=100, num_classes=13, in_channels=_dim_))
            """, "\(dir)/topo.py")
        try Self.write(Self.nuScenesClasses + """

            point_cloud_range = [-15.0, -30.0, -2.0, 15.0, 30.0, 2.0]
            map_classes = ['divider', 'ped_crossing', 'boundary']
            map_num_classes = len(map_classes)
            model = dict(type='VAD', pts_bbox_head=dict(type='VADHead', num_classes=10, map_num_classes=map_num_classes, fut_ts=6, fut_mode=6))
            """, "\(dir)/vad.py")
        try Data(repeating: 1, count: 8).write(to: URL(fileURLWithPath: "\(dir)/model.pth"))
        #expect(await validator.problems(manifest: try Self.manifest("TopoMLP"), config: "\(dir)/topo.py", checkpoint: "\(dir)/model.pth", checkpointsDir: dir) == [])
        #expect(await validator.problems(manifest: try Self.manifest("VAD"), config: "\(dir)/vad.py", checkpoint: "\(dir)/model.pth", checkpointsDir: dir) == [])
        try Self.write(try String(contentsOfFile: "\(dir)/vad.py", encoding: .utf8).replacingOccurrences(of: "'divider', 'ped_crossing'", with: "'ped_crossing', 'divider'"), "\(dir)/vad.py")
        let problems = await validator.problems(manifest: try Self.manifest("VAD"), config: "\(dir)/vad.py", checkpoint: "\(dir)/model.pth", checkpointsDir: dir)
        #expect(problems.count == 1 && problems.first?.contains("'map_classes'") == true)
    }
}
