import Foundation
import Testing
@testable import Plugins

/// Each export as the model's own repository writes it. The rules come from the upstream code at the pinned
/// commits (hustvl/VAD 1688c4b, hustvl/MapTR a6872d8, exiawsh/StreamPETR 95f6470, megvii-research/PETR
/// f7525f9, OpenDriveLab/OpenLane-V2 v1.0.0 = d09bfe9); each test names the file and line it follows.
@Suite("Exports follow each model's own code")
struct UpstreamExportTests {
    static func parse(_ model: String, _ fixture: String, options: ParseOptions = ParseOptions()) throws -> (any ModelPlugin, [StandardResult]) {
        let plugin = try Fixture.plugin(model)
        return (plugin, try plugin.parseAll(raw: Fixture.json(fixture), options: options))
    }

    /// A VAD detection at `center` (LiDAR frame) with one trajectory mode per given offset list.
    static func vadDetection(_ label: String, center: [Double], offsets: [[Double]] = [[1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]]) -> Detection3D {
        let modes = offsets.map { flat in
            var x = center[0], y = center[1]
            return stride(from: 0, to: flat.count, by: 2).map { index -> [Double] in
                x += flat[index]
                y += flat[index + 1]
                return [x, y]
            }
        }
        return Detection3D(
            label: label, labelIndex: 0, score: 0.9, centerLidar: center, sizeWlh: [1, 1, 1], yawLidar: 0, velocityLidar: [0, 0],
            trajectoriesLidar: try! PointLists(rows: modes), trajectoryStepSeconds: 0.5)
    }

    static func members(_ value: JSONValue?) -> [(String, JSONValue)]? {
        guard case .object(let members)? = value else { return nil }
        return members
    }

    static func vadResult(_ detections: [Detection3D], token: String = "t") -> StandardResult {
        var result = StandardResult(meta: ResultMeta(model: "VAD", pluginVersion: "1", checkpoint: "c", scoreThreshold: 0.2, sampleID: token))
        result.detections = detections
        return result
    }

    // MARK: - VAD's nuScenes detection file

    /// VAD vad_nusc_detection_cvpr_2019.json l.2-25 (class_range_x 30, class_range_y 15 for every class), applied by
    /// nuscenes_vad_dataset.py l.1905-1911 (`abs(x) > range_x or abs(y) > range_y` drops, in the ego frame).
    @Test("VAD: boxes kept when |x| <= 30 and |y| <= 15 in the ego frame, not by detection_cvpr_2019's radii")
    func vadEgoBoxRange() throws {
        let boxes = [
            Self.vadDetection("car", center: [30, 15, 0]),              // on both edges: kept
            Self.vadDetection("car", center: [30.001, 0, 0]),           // |x| beyond 30: dropped (radius 30 m < 50 m)
            Self.vadDetection("pedestrian", center: [0, -15.001, 0]),   // |y| beyond 15: dropped (inside 40 m)
            Self.vadDetection("traffic_cone", center: [-28, 14, 0]),    // 31.3 m out: beyond the cone's 30 m, kept by VAD
        ]
        let vad = ExportConventions(useExternal: true, detection: .vad, map: .vad)
        let out = try NuScenesExport.submission([Self.vadResult(boxes)], calibration: ["t": .identity], conventions: vad)
        let names = try #require(out["results"]?["t"]?.arrayValue).compactMap { $0["detection_name"]?.stringValue }
        #expect(names == ["car", "traffic_cone"])
        // The same boxes under mmdet3d's radial ranges (PETR, StreamPETR): the far car and the pedestrian stay, the cone goes.
        let radial = try NuScenesExport.submission([Self.vadResult(boxes)], calibration: ["t": .identity])
        let radialNames = try #require(radial["results"]?["t"]?.arrayValue).compactMap { $0["detection_name"]?.stringValue }
        #expect(radialNames == ["car", "car", "pedestrian"])
    }

    /// The range is measured after lidar2ego (nuscenes_vad_dataset.py l.1902-1907): with nuScenes' LIDAR_TOP
    /// (about -90 degrees about z) a box 20 m to the LiDAR's left is 20 m ahead of the ego and stays.
    @Test("VAD: the range applies in the ego frame, after lidar2ego")
    func vadRangeInEgoFrame() throws {
        let calibration = SampleCalibration(
            lidarToEgoRotation: Quaternion(yaw: -Double.pi / 2), lidarToEgoTranslation: [0, 0, 0],
            egoToGlobalRotation: Quaternion(w: 1, x: 0, y: 0, z: 0), egoToGlobalTranslation: [0, 0, 0])
        let box = Self.vadDetection("car", center: [0, 20, 0])  // ego (20, 0): inside; LiDAR y = 20 would be outside
        let out = try NuScenesExport.submission(
            [Self.vadResult([box])], calibration: ["t": calibration], conventions: ExportConventions(detection: .vad))
        let entry = try #require(out["results"]?["t"]?.arrayValue?.first)
        let translation = (entry["translation"]?.arrayValue ?? []).compactMap(\.numberValue)
        #expect(translation.count == 3 && abs(translation[0] - 20) < 1e-9 && abs(translation[1]) < 1e-9)
    }

    /// nuscenes_vad_dataset.py l.1516 writes `fut_traj=box.fut_trajs.tolist()`; the box is built from the raw
    /// `trajs_3d` row (l.1849, l.1871) and `CustomNuscenesBox.rotate`/`translate` (core/bbox/structures/nuscenes_box.py
    /// l.102-116) never touch `fut_trajs`: the entry carries the model's (6, 12) per-step LiDAR offsets, untransformed.
    @Test("VAD: fut_traj is the raw trajs_3d row, per-step offsets in the LiDAR frame, whatever the calibration")
    func vadFutureTrajectory() throws {
        let raw = try Fixture.json("vad_typical.json")
        let (plugin, results) = try Self.parse("VAD", "vad_typical.json")
        let out = try NuScenesExport.submission(results, calibration: Fixture.calibration(), conventions: plugin.exportConventions)
        let entries = try #require(out["results"]?["tok_vad"]?.arrayValue)
        let trajs = try #require(raw["pts_bbox"]?["trajs_3d"]?.arrayValue)
        let scores = try #require(raw["pts_bbox"]?["scores_3d"]?.arrayValue).compactMap(\.numberValue)
        #expect(entries.count == 4)
        for entry in entries {
            let score = try #require(entry["detection_score"]?.numberValue)
            let row = try #require(scores.firstIndex(of: score))
            let expected = trajs[row]
            let written = try #require(entry["fut_traj"])
            #expect(written.arrayValue?.count == 6 && written.arrayValue?.allSatisfy { $0.arrayValue?.count == 12 } == true)
            #expect(approximatelyEqual(written, expected, tolerance: 1e-12) == nil, "row \(row)")
        }
    }

    @Test("VAD: a detection without trajectories cannot be written as VAD's file")
    func vadNeedsTrajectories() throws {
        var box = Self.vadDetection("car", center: [1, 1, 0])
        box.trajectoriesLidar = nil
        #expect(throws: PluginError.self) {
            _ = try NuScenesExport.submission([Self.vadResult([box])], calibration: ["t": .identity], conventions: ExportConventions(detection: .vad))
        }
    }

    /// mmdet3d's NuScenesDataset._format_bbox writes no `fut_traj`; PETR and StreamPETR use it.
    @Test("PETR and StreamPETR: mmdet3d's file, no fut_traj")
    func mmdet3dHasNoFutureTrajectory() throws {
        for (model, fixture) in [("PETR", "petr_typical.json"), ("StreamPETR", "streampetr_typical.json")] {
            let (plugin, results) = try Self.parse(model, fixture)
            #expect(plugin.exportConventions.detection == .mmdet3d)
            let out = try NuScenesExport.submission(results, calibration: Fixture.calibration(), conventions: plugin.exportConventions)
            let entries = try #require(Self.members(out["results"])?.first?.1.arrayValue)
            #expect(!entries.isEmpty && entries.allSatisfy { $0["fut_traj"] == nil }, "\(model)")
        }
    }

    // MARK: - meta.use_external

    /// `'meta': self.modality` (VAD nuscenes_vad_dataset.py l.1550, MapTR nuscenes_map_dataset.py l.1315, mmdet3d's
    /// NuScenesDataset likewise): the config's input_modality. use_external=True in StreamPETR's config (l.34),
    /// VAD_base_stage_2.py (l.36) and maptr_tiny_r50_24e.py (l.40); False in PETR's petr_r50dcn_gridmask_p4.py (l.25).
    @Test("nuScenes meta.use_external comes from the model's config, through its manifest", arguments: [
        ("PETR", "petr_typical.json", ExportFormat.nuscenes, false),
        ("StreamPETR", "streampetr_typical.json", .nuscenes, true),
        ("VAD", "vad_typical.json", .nuscenes, true),
        ("VAD", "vad_typical.json", .nuscmap, true),
        ("MapTR", "maptr_typical.json", .nuscmap, true),
    ])
    func useExternal(model: String, fixture: String, format: ExportFormat, expected: Bool) throws {
        let (plugin, results) = try Self.parse(model, fixture)
        #expect(plugin.manifest.useExternal == expected)
        let bytes = try format.render(
            results, conventions: plugin.exportConventions, calibration: format == .nuscenes ? Fixture.calibration() : nil)
        let meta = try JSONReader.parse(bytes)["meta"]
        #expect(meta?["use_external"] == .bool(expected))
        for key in ["use_camera", "use_lidar", "use_radar", "use_map"] { #expect(meta?[key]?.kind == "a boolean", "\(key)") }
        #expect(meta?["use_camera"] == .bool(true))
    }

    // MARK: - map files

    /// VAD applies score_thresh only to boxes (nuscenes_vad_dataset.py l.1483) and writes every map vector
    /// (l.1522-1539, no score test): a threshold, the manifest's 0.2 or a caller's, leaves the map whole.
    @Test("VAD: the score threshold cuts detections only; every map vector is kept")
    func vadKeepsEveryMapVector() throws {
        let raw = try Fixture.json("vad_typical.json")
        let mapScores = try #require(raw["pts_bbox"]?["map_scores_3d"]?.arrayValue)
        for threshold in [nil, 0.5, 0.99] as [Double?] {
            let (_, results) = try Self.parse("VAD", "vad_typical.json", options: ParseOptions(scoreThreshold: threshold))
            let result = try #require(results.first)
            #expect(result.mapElements?.count == mapScores.count, "threshold \(String(describing: threshold))")
            #expect(result.detections?.allSatisfy { $0.score >= (threshold ?? 0.2) } == true)
        }
        // A NaN map score still cannot be written: that vector is dropped with a warning.
        var nan = raw
        if case .object(var top) = nan, let index = top.firstIndex(where: { $0.0 == "pts_bbox" }), case .object(var bbox) = top[index].1,
           let scoresIndex = bbox.firstIndex(where: { $0.0 == "map_scores_3d" }) {
            bbox[scoresIndex].1 = .array([.number(.nan), .number(0.5), .number(0.15)])
            top[index].1 = .object(bbox)
            nan = .object(top)
        }
        let parsed = try Fixture.plugin("VAD").parse(raw: nan)
        #expect(parsed.mapElements?.count == 2 && parsed.meta.warnings.count == 1)
    }

    /// MapTR writes `results` as a list in data_infos order (nuscenes_map_dataset.py l.1285-1316) and its
    /// evaluator pairs by index (map_utils/mean_ap.py l.152 asserts equal length, l.205 zips). VAD writes
    /// `map_results` keyed by sample token (nuscenes_vad_dataset.py l.1539, l.1552), read as `gen_results.values()`
    /// (VAD map_utils/mean_ap.py l.205), so the token order is the pairing order too.
    @Test("nuscmap: MapTR a list in input order, VAD map_results keyed by token in input order; a repeated token is refused")
    func mapLayouts() throws {
        let mapPlugin = try Fixture.plugin("MapTR")
        let vadPlugin = try Fixture.plugin("VAD")
        var maptr: [StandardResult] = []
        var vad: [StandardResult] = []
        let tokens = ["s3", "s1", "s2"]
        for token in tokens {
            maptr.append(try mapPlugin.parse(raw: Fixture.json("maptr_typical.json"), options: ParseOptions(sampleID: token)))
            vad.append(try vadPlugin.parse(raw: Fixture.json("vad_typical.json"), options: ParseOptions(sampleID: token)))
        }
        let listed = try NuScenesMapExport.submission(maptr, conventions: mapPlugin.exportConventions)
        #expect(listed["results"]?.arrayValue?.compactMap { $0["sample_token"]?.stringValue } == tokens)
        #expect(listed["map_results"] == nil)
        let keyed = try NuScenesMapExport.submission(vad, conventions: vadPlugin.exportConventions)
        let members = try #require(Self.members(keyed["map_results"]))
        #expect(members.map(\.0) == tokens)
        #expect(members.allSatisfy { $0.1["sample_token"]?.stringValue == $0.0 && $0.1["vectors"]?.arrayValue?.count == 3 })
        #expect(keyed["results"] == nil)
        // Written JSON keeps that order (JSON objects are ordered as written here and by Python's json.load).
        let text = String(decoding: try ExportFormat.nuscmap.render(vad, conventions: vadPlugin.exportConventions), as: UTF8.self)
        let positions = tokens.compactMap { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.count == 3 && positions == positions.sorted())
        for conventions in [mapPlugin.exportConventions, vadPlugin.exportConventions] {
            #expect(throws: PluginError.self) { _ = try NuScenesMapExport.submission([maptr[0], maptr[0]], conventions: conventions) }
        }
    }

    // MARK: - OpenLane-V2 submission info (check.py at v1.0.0)

    static func info(_ change: (inout [(String, JSONValue)]) -> Void = { _ in }) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("method", .string("TopoMLP")), ("authors", .array([.string("A. Author")])), ("e-mail", .string("team@example.org")),
            ("institution / company", .string("Example University")), ("country / region", .string("Germany")),
        ]
        change(&members)
        return .object(members)
    }

    static func message(_ value: JSONValue) -> String? {
        do {
            _ = try OpenLaneSubmissionInfo.read(value, source: "info.json")
            return nil
        } catch {
            return error.message
        }
    }

    /// check.py l.43-54: the four string keys must be present (a missing one makes the submission invalid) and str
    /// (l.45-46); l.56-64: `authors` present and a list (l.58-59).
    @Test("each of the five keys is required and typed; errors name the key")
    func requiredKeysAndTypes() throws {
        #expect(Self.message(Self.info()) == nil)
        for key in OpenLaneSubmissionInfo.keys {
            let missing = Self.message(Self.info { $0.removeAll { $0.0 == key } })
            #expect(missing == "info.json: key '\(key)' is missing")
        }
        for key in ["method", "e-mail", "institution / company", "country / region"] {
            let wrong = Self.message(Self.info { members in
                if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = .number(1) }
            })
            #expect(wrong == "info.json: key '\(key)': expected a string, got a number")
        }
        #expect(Self.message(Self.info { $0[1].1 = .string("A. Author") }) == "info.json: key 'authors': expected a list of names, got a string")
        #expect(Self.message(Self.info { $0[1].1 = .array([.string("A"), .number(2)]) }) == "info.json: key 'authors[1]': expected a string, got a number")
        #expect(Self.message(.array([])) != nil)
        // Ours, beyond the devkit: a misspelt key and empty values are refused.
        #expect(Self.message(Self.info { $0.append(("email", .string("x@y.org"))) })?.contains("unknown key 'email'") == true)
        #expect(Self.message(Self.info { $0[0].1 = .string(" ") }) == "info.json: key 'method' is empty")
        #expect(Self.message(Self.info { $0[2].1 = .string("team.example.org") })?.hasPrefix("info.json: key 'e-mail':") == true)
    }

    /// check.py l.47-51 calls iso3166's `countries.get`: by its rule a string is upper-cased; two characters are
    /// an alpha-2 code, three digits (not 000) a numeric code, other three characters alpha-3, else a name or
    /// an apolitical name.
    @Test("country / region: what iso3166's countries.get accepts", arguments: [
        ("Germany", true), ("germany", true), ("GERMANY", true), ("DE", true), ("de", true), ("DEU", true), ("276", true),
        ("United States of America", true), ("US", true), ("Taiwan", true), ("Taiwan, Province of China", true),
        ("Türkiye", true), ("türkiye", true), ("Côte d'Ivoire", true), ("Åland Islands", true), ("Naoero", true),
        ("", false), ("Narnia", false), ("000", false), ("999", false), ("XX", false), ("U.S.", false), ("USA ", false),
        ("Deutschland", false), ("United States", false), ("Nauru", false),
    ])
    func country(name: String, valid: Bool) throws {
        let message = Self.message(Self.info { $0[4].1 = .string(name) })
        if valid {
            #expect(message == nil, "\(name)")
        } else {
            #expect(message?.hasPrefix("info.json: key 'country / region': '\(name)' is not an ISO 3166 country") == true, "\(name): \(message ?? "accepted")")
        }
    }

    /// check.py l.60-61: at most 10 authors.
    @Test("authors: at most 10")
    func authorsLimit() throws {
        let ten = (1...10).map { JSONValue.string("Author \($0)") }
        #expect(Self.message(Self.info { $0[1].1 = .array(ten) }) == nil)
        #expect(Self.message(Self.info { $0[1].1 = .array(ten + [.string("Eleven")]) })
            == "info.json: key 'authors': 11 authors, the OpenLane-V2 devkit allows at most 10")
        #expect(Self.message(Self.info { $0[1].1 = .array([]) }) == nil)
    }

    @Test("the header goes first when given, and is left out (not written empty) when not")
    func headerPlacement() throws {
        let (_, results) = try Self.parse("TopoMLP", "topomlp_typical.json", options: ParseOptions(denseTopology: true))
        let bare = try OpenLaneExport.submission(results)
        #expect(Self.members(bare)?.map(\.0) == ["results"])
        let info = try OpenLaneSubmissionInfo.read(Self.info(), source: "info.json")
        let full = try OpenLaneExport.submission(results, info: info)
        #expect(Self.members(full)?.map(\.0) == ["method", "authors", "e-mail", "institution / company", "country / region", "results"])
        #expect(full["country / region"] == .string("Germany"))
        #expect(throws: PluginError(.unsupportedExport, "submission info belongs to the openlane format, not nuscmap")) {
            _ = try ExportFormat.nuscmap.render([], submissionInfo: info)
        }
    }

    /// check.py l.103-107: ids unique across lane_centerline and traffic_element in a frame; l.98 lane points
    /// (#points, 3); l.100 traffic-element points (2, 2); l.115 and l.124 matrix shapes.
    @Test("OpenLane-V2 frames: ids unique across lanes and traffic elements, points (N, 3), matrices sized to the lists")
    func frameRules() throws {
        let (_, results) = try Self.parse("TopoMLP", "topomlp_typical.json", options: ParseOptions(denseTopology: true))
        let good = try #require(results.first)
        var clash = good
        clash.trafficElements?[0].id = try #require(good.laneCenterlines?[0].id)
        #expect(throws: PluginError(.invalidValue, "sample 'val/00001/315969904949927216': id 1000 is used twice; OpenLane-V2 needs ids unique across lanes and traffic elements")) {
            _ = try OpenLaneExport.submission([clash])
        }
        var flat = good
        flat.laneCenterlines?[1].pointsEgo = [[0, 0], [1, 1]]
        #expect(throws: PluginError.self) { _ = try OpenLaneExport.submission([flat]) }
        var empty = good
        empty.laneCenterlines?[1].pointsEgo = []
        #expect(throws: PluginError.self) { _ = try OpenLaneExport.submission([empty]) }
        var matrix = good
        matrix.topology?.laneTrafficDense?[0].removeLast()
        #expect(throws: PluginError.self) { _ = try OpenLaneExport.submission([matrix]) }
        // Every lane written is (11, 3) and every traffic element (2, 2).
        let out = try OpenLaneExport.submission([good])
        let predictions = try #require(out["results"]?["val/00001/315969904949927216"]?["predictions"])
        #expect(predictions["lane_centerline"]?.arrayValue?.allSatisfy {
            $0["points"]?.arrayValue?.count == 11 && $0["points"]?.arrayValue?.allSatisfy { $0.arrayValue?.count == 3 } == true
        } == true)
        #expect(predictions["traffic_element"]?.arrayValue?.allSatisfy {
            $0["points"]?.arrayValue?.count == 2 && $0["points"]?.arrayValue?.allSatisfy { $0.arrayValue?.count == 2 } == true
        } == true)
    }
}
