/// VAD (hustvl/VAD): end-to-end driving: 3D detection with motion, a vector map and an ego plan.
///
/// Raw `pts_bbox`: PETR's box keys (mmdet3d 0.17), `trajs_3d` (N,6,12) per-step offsets,
/// MapTR's keys prefixed `map_`, `ego_fut_preds` (3,6,2) per-step offsets, `ego_fut_cmd` (1,1,1,3) one-hot.
public struct VADPlugin: ModelPlugin {
    /// VAD's command order (`ego_fut_cmd`'s last axis, `ego_fut_preds`' first).
    public static let commands = ["turn_right", "turn_left", "go_straight"]
    /// `fut_ts = 6` steps at 2 Hz.
    public static let futureSteps = 6
    public static let stepSeconds = 0.5
    public static let modes = 6

    public let manifest: PluginManifest

    /// VAD's own `_format_bbox` (nuscenes_vad_dataset.py l.1449-1563): its detection range and `fut_traj`,
    /// and `map_results` keyed by sample token.
    public var exportConventions: ExportConventions {
        ExportConventions(useExternal: manifest.useExternal, detection: .vad, map: .vad)
    }

    public init(manifest: PluginManifest) throws(PluginError) {
        guard !manifest.classNames.isEmpty else {
            throw PluginError(.invalidManifest, "\(manifest.sourcePath): key 'class_names': the detection classes are required")
        }
        guard let map = manifest.mapClassNames, !map.isEmpty else {
            throw PluginError(.invalidManifest, "\(manifest.sourcePath): key 'map_class_names': VAD's map classes are required")
        }
        self.manifest = manifest
    }

    public var inputs: [TensorMetadata] {
        [
            TensorMetadata("img", "FP32", [1, 6, 3, -1, -1]), TensorMetadata("can_bus", "FP32", [1, 18]),
            TensorMetadata("ego_fut_cmd", "FP32", [1, 1, 1, 3]),
        ]
    }
    public var outputs: [TensorMetadata] {
        [
            TensorMetadata("boxes_3d", "FP32", [-1, 9]), TensorMetadata("scores_3d", "FP32", [-1]),
            TensorMetadata("labels_3d", "INT64", [-1]), TensorMetadata("trajs_3d", "FP32", [-1, 6, 12]),
            TensorMetadata("map_boxes_3d", "FP32", [-1, 4]), TensorMetadata("map_scores_3d", "FP32", [-1]),
            TensorMetadata("map_labels_3d", "INT64", [-1]), TensorMetadata("map_pts_3d", "FP32", [-1, 20, 2]),
            TensorMetadata("ego_fut_preds", "FP32", [3, 6, 2]), TensorMetadata("ego_fut_cmd", "FP32", [1, 1, 1, 3]),
        ]
    }

    public func decode(sample: JSONValue, into result: inout StandardResult, options: ParseOptions) throws(PluginError) {
        let path = "pts_bbox"
        let bbox = try sample.require(path, in: "")
        let threshold = result.meta.scoreThreshold
        result.meta.boxConvention = BoxConvention.mmdet3d017.rawValue
        let steps = Self.futureSteps
        let trajs = try bbox.tensor("trajs_3d", in: path, [.any("N"), .fixed(Self.modes), .fixed(steps * 2)])
        let kept = try DetectionDecoder(convention: .mmdet3d017, classes: manifest.classNames)
            .decode(bbox, path: path, threshold: threshold, warnings: &result.meta.warnings)
        let boxes = try bbox.tensor("boxes_3d", in: path, [.any("N"), .fixed(9)])
        try Check.sameCount([("\(path).boxes_3d", boxes), ("\(path).trajs_3d", trajs)])
        var detections: [Detection3D] = []
        detections.reserveCapacity(kept.count)
        for (row, var detection) in kept {
            let flat = trajs.row(row)
            try Check.finite(flat, key: "\(path).trajs_3d", row: row)
            // Offsets per step: reshape (modes, steps, 2), cumulative sum, then add the box centre (x, y).
            // Filled flat, mode after mode: one buffer a box, not an array a point.
            let origin = (detection.centerLidar[0], detection.centerLidar[1])
            var coordinates = [Double](repeating: 0, count: Self.modes * steps * 2)
            var base = flat.startIndex, index = 0
            for _ in 0..<Self.modes {
                var x = origin.0, y = origin.1
                for _ in 0..<steps {
                    x += flat[base]
                    y += flat[base + 1]
                    coordinates[index] = x
                    coordinates[index + 1] = y
                    base += 2
                    index += 2
                }
            }
            detection.trajectoriesLidar = PointLists(lists: Self.modes, pointsPerList: steps, dimension: 2, coordinates: coordinates)
            detection.trajectoryStepSeconds = Self.stepSeconds
            detections.append(detection)
        }
        result.detections = detections
        // VAD's score threshold is for detections only (nuscenes_vad_dataset.py l.1483); every map vector is
        // kept (l.1526-1535). Only a non-finite score, which JSON cannot carry, drops one (with a warning).
        result.mapElements = try MapDecoder(classes: manifest.mapClassNames ?? [])
            .decode(bbox, path: path, threshold: -.infinity, warnings: &result.meta.warnings, prefix: "map_")
        result.egoPlan = try egoPlan(bbox, path: path)
    }

    private func egoPlan(_ bbox: JSONValue, path: String) throws(PluginError) -> EgoPlan {
        let steps = Self.futureSteps
        let preds = try bbox.tensor("ego_fut_preds", in: path, [.fixed(Self.commands.count), .fixed(steps), .fixed(2)])
        let command = try bbox.tensor("ego_fut_cmd", in: path, [.fixed(1), .fixed(1), .fixed(1), .fixed(Self.commands.count)])
        try Check.finite(preds.values(0..<preds.elementCount), key: "\(path).ego_fut_preds", row: 0)
        try Check.finite(command.values(0..<command.elementCount), key: "\(path).ego_fut_cmd", row: 0)
        // argmax, first maximum wins like torch/numpy.
        var chosen = 0
        for index in 1..<command.elementCount where command[flat: index] > command[flat: chosen] { chosen = index }
        var candidates: [EgoPlan.Candidate] = []
        for (index, name) in Self.commands.enumerated() {
            var x = 0.0, y = 0.0
            var points: [Double] = []
            points.reserveCapacity(steps * 2)
            for step in 0..<steps {
                x += preds[flat: (index * steps + step) * 2]
                y += preds[flat: (index * steps + step) * 2 + 1]
                points.append(x)
                points.append(y)
            }
            candidates.append(EgoPlan.Candidate(command: name, trajectoryLidar: PointList(dimension: 2, coordinates: points)))
        }
        return EgoPlan(
            command: Self.commands[chosen], commandIndex: chosen, trajectoryLidar: candidates[chosen].trajectoryLidar,
            stepSeconds: Self.stepSeconds, candidates: candidates)
    }
}
