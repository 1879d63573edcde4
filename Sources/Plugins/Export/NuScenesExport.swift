/// The nuScenes detection submission (`results_nusc.json`) from PETR, StreamPETR or VAD results,
/// as mmdet3d's `_format_bbox` writes it.
public enum NuScenesExport {
    /// nuScenes' rule: at most this many boxes a sample.
    public static let maxBoxesPerSample = 500

    /// `detection_cvpr_2019` class ranges (metres, x-y distance in the ego frame).
    public static let classRange: [String: Double] = [
        "car": 50, "truck": 50, "bus": 50, "trailer": 50, "construction_vehicle": 50,
        "pedestrian": 40, "motorcycle": 40, "bicycle": 40, "traffic_cone": 30, "barrier": 30,
    ]

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
    public static func submission(_ results: [StandardResult], calibration: [String: SampleCalibration]) throws(PluginError) -> JSONValue {
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
            samples.append((token, .array(try boxes(detections, token: token, calibration: calib))))
        }
        return .object([
            ("meta", .object([
                ("use_camera", .bool(true)), ("use_lidar", .bool(false)), ("use_radar", .bool(false)),
                ("use_map", .bool(false)), ("use_external", .bool(false)),
            ])),
            ("results", .object(samples)),
        ])
    }

    static func boxes(_ detections: [Detection3D], token: String, calibration calib: SampleCalibration) throws(PluginError) -> [JSONValue] {
        var kept: [(score: Double, value: JSONValue)] = []
        for detection in detections {
            guard let range = classRange[detection.label] else {
                throw PluginError(.unsupportedExport, "class '\(detection.label)' is not a nuScenes detection class")
            }
            // LiDAR -> ego: rotate centre, orientation and velocity, then translate the centre.
            var center = add(calib.lidarToEgoRotation.rotate(detection.centerLidar), calib.lidarToEgoTranslation)
            var orientation = calib.lidarToEgoRotation * Quaternion(yaw: detection.yawLidar)
            var velocity = calib.lidarToEgoRotation.rotate(detection.velocityLidar + [0])
            // The class range is measured in the ego frame.
            guard (center[0] * center[0] + center[1] * center[1]).squareRoot() <= range else { continue }
            center = add(calib.egoToGlobalRotation.rotate(center), calib.egoToGlobalTranslation)
            orientation = calib.egoToGlobalRotation * orientation
            velocity = calib.egoToGlobalRotation.rotate(velocity)
            let speed = (velocity[0] * velocity[0] + velocity[1] * velocity[1]).squareRoot()
            kept.append((detection.score, .object([
                ("sample_token", .string(token)),
                ("translation", numbers(center)),
                ("size", numbers(detection.sizeWlh)),
                ("rotation", numbers(orientation.elements)),
                ("velocity", numbers(Array(velocity.prefix(2)))),
                ("detection_name", .string(detection.label)),
                ("detection_score", .number(detection.score)),
                ("attribute_name", .string(attribute(for: detection.label, speed: speed))),
            ])))
        }
        if kept.count > maxBoxesPerSample {
            // Keep the best-scoring boxes; stable so equal scores keep the model's order.
            let order = kept.indices.sorted { kept[$0].score > kept[$1].score || (kept[$0].score == kept[$1].score && $0 < $1) }
            kept = order.prefix(maxBoxesPerSample).sorted().map { kept[$0] }
        }
        return kept.map(\.value)
    }

    static func add(_ a: [Double], _ b: [Double]) -> [Double] { [a[0] + b[0], a[1] + b[1], a[2] + b[2]] }

    static func numbers(_ values: [Double]) -> JSONValue { .array(values.map { .number($0) }) }
}
