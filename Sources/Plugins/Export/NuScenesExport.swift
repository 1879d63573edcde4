/// The nuScenes detection submission (`results_nusc.json`) from PETR, StreamPETR or VAD results, as the
/// model's own `_format_bbox` writes it: mmdet3d's for PETR and StreamPETR, VAD's for VAD (``ExportConventions``).
public enum NuScenesExport {
    /// nuScenes' rule: at most this many boxes a sample.
    public static let maxBoxesPerSample = 500

    /// `detection_cvpr_2019` class ranges (metres, x-y distance in the ego frame).
    public static let classRange: [String: Double] = [
        "car": 50, "truck": 50, "bus": 50, "trailer": 50, "construction_vehicle": 50,
        "pedestrian": 40, "motorcycle": 40, "bicycle": 40, "traffic_cone": 30, "barrier": 30,
    ]

    /// VAD's `vad_nusc_detection_cvpr_2019.json` (l.2-25): `class_range_x` 30 m and `class_range_y` 15 m for
    /// every class; a box is dropped when `|x|` or `|y|` of its ego-frame centre is beyond them.
    public static let vadClassRange: (x: Double, y: Double) = (30, 15)

    /// mmdet3d's attribute rule: moving above 0.2 m/s, else the class's resting attribute.
    public static func attribute(for name: String, speed: Double) -> String {
        if speed > 0.2 {
            switch name {
            case "car", "construction_vehicle", "bus", "truck", "trailer": return "vehicle.moving"
            case "bicycle", "motorcycle": return "cycle.with_rider"
            case "pedestrian": return "pedestrian.moving"
            default: return ""
            }
        }
        switch name {
        case "pedestrian": return "pedestrian.standing"
        case "bus": return "vehicle.stopped"
        case "car", "truck", "trailer", "construction_vehicle": return "vehicle.parked"
        case "bicycle", "motorcycle": return "cycle.without_rider"
        default: return ""
        }
    }

    /// The submission for `results`, each transformed with its sample's calibration.
    /// - Throws: ``PluginError`` when a result has no detections section, no sample id, no calibration,
    ///   or a class nuScenes does not know.
    public static func submission(
        _ results: [StandardResult], calibration: [String: SampleCalibration], conventions: ExportConventions = ExportConventions()
    ) throws(PluginError) -> JSONValue {
        var samples: [(String, JSONValue)] = []
        var seen: Set<String> = []
        for result in results {
            guard let detections = result.detections else {
                throw PluginError(.unsupportedExport, "the nuScenes detection format needs 3D detections; model \(result.meta.model) gives none")
            }
            guard let token = result.meta.sampleID else {
                throw PluginError(.invalidCalibration, "a result has no sample_id: the nuScenes submission is keyed by sample token")
            }
            guard seen.insert(token).inserted else {
                throw PluginError(.invalidValue, "sample token '\(token)' appears twice")
            }
            guard let calib = calibration[token] else {
                throw PluginError(.invalidCalibration, "no calibration for sample token '\(token)'")
            }
            samples.append((token, .array(try boxes(detections, token: token, calibration: calib, style: conventions.detection))))
        }
        // The model config's input_modality, as its _format_bbox writes it (`'meta': self.modality`).
        return .object([("meta", conventions.nuScenesMeta), ("results", .object(samples))])
    }

    static func boxes(
        _ detections: [Detection3D], token: String, calibration calib: SampleCalibration, style: ExportConventions.Detection
    ) throws(PluginError) -> [JSONValue] {
        var kept: [(score: Double, value: JSONValue)] = []
        for detection in detections {
            guard let range = classRange[detection.label] else {
                throw PluginError(.unsupportedExport, "class '\(detection.label)' is not a nuScenes detection class")
            }
            var futureTrajectory: JSONValue?
            if style == .vad {
                guard let modes = detection.trajectoriesLidar else {
                    throw PluginError(.unsupportedExport, "VAD's nuScenes format writes fut_traj: detection '\(detection.label)' (score \(detection.score)) has no trajectories")
                }
                futureTrajectory = perStepOffsets(modes, from: detection.centerLidar)
            }
            // LiDAR -> ego: rotate centre, orientation and velocity, then translate the centre.
            var center = add(calib.lidarToEgoRotation.rotate(detection.centerLidar), calib.lidarToEgoTranslation)
            var orientation = calib.lidarToEgoRotation * Quaternion(yaw: detection.yawLidar)
            var velocity = calib.lidarToEgoRotation.rotate(detection.velocityLidar + [0])
            // The range filter is applied in the ego frame, as both _format_bbox do.
            switch style {
            case .mmdet3d:
                guard (center[0] * center[0] + center[1] * center[1]).squareRoot() <= range else { continue }
            case .vad:
                guard abs(center[0]) <= vadClassRange.x, abs(center[1]) <= vadClassRange.y else { continue }
            }
            center = add(calib.egoToGlobalRotation.rotate(center), calib.egoToGlobalTranslation)
            orientation = calib.egoToGlobalRotation * orientation
            velocity = calib.egoToGlobalRotation.rotate(velocity)
            let speed = (velocity[0] * velocity[0] + velocity[1] * velocity[1]).squareRoot()
            var entry: [(String, JSONValue)] = [
                ("sample_token", .string(token)),
                ("translation", numbers(center)),
                ("size", numbers(detection.sizeWlh)),
                ("rotation", numbers(orientation.elements)),
                ("velocity", numbers(Array(velocity.prefix(2)))),
                ("detection_name", .string(detection.label)),
                ("detection_score", .number(detection.score)),
                ("attribute_name", .string(attribute(for: detection.label, speed: speed))),
            ]
            if let futureTrajectory { entry.append(("fut_traj", futureTrajectory)) }
            kept.append((detection.score, .object(entry)))
        }
        if kept.count > maxBoxesPerSample {
            // Keep the best-scoring boxes; stable so equal scores keep the model's order.
            let order = kept.indices.sorted { kept[$0].score > kept[$1].score || (kept[$0].score == kept[$1].score && $0 < $1) }
            kept = order.prefix(maxBoxesPerSample).sorted().map { kept[$0] }
        }
        return kept.map(\.value)
    }

    /// VAD's `fut_traj`: the box's raw `trajs_3d` row, `modes` lists of `steps x (dx, dy)` per-step offsets in the
    /// LiDAR frame. `CustomNuscenesBox.rotate`/`translate` (VAD nuscenes_box.py l.102-116) move the centre,
    /// orientation and velocity but leave `fut_trajs` as the model gave it, and `_format_bbox` writes it so
    /// (nuscenes_vad_dataset.py l.1516). The standard result holds absolute positions; this undoes the sum.
    static func perStepOffsets(_ modes: PointLists, from center: [Double]) -> JSONValue {
        .array(modes.map { points in
            var previous = (center[0], center[1])
            var flat: [JSONValue] = []
            flat.reserveCapacity(points.count * 2)
            for point in points {
                flat.append(.number(point[0] - previous.0))
                flat.append(.number(point[1] - previous.1))
                previous = (point[0], point[1])
            }
            return .array(flat)
        })
    }

    static func add(_ a: [Double], _ b: [Double]) -> [Double] { [a[0] + b[0], a[1] + b[1], a[2] + b[2]] }

    static func numbers(_ values: [Double]) -> JSONValue { .array(values.map { .number($0) }) }

    static func numbers(_ point: PointList.Point) -> JSONValue { .array(point.map { .number($0) }) }
}
