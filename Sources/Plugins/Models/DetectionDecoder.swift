/// Reads mmdet3d's `boxes_3d`/`scores_3d`/`labels_3d` (shared by PETR, StreamPETR and VAD).
struct DetectionDecoder {
    let convention: BoxConvention
    let classes: [String]

    /// The kept detections and, for each, its row in the raw tensors (VAD's trajectories follow it).
    func decode(
        _ container: JSONValue, path: String, threshold: Double, warnings: inout [String],
        boxesKey: String = "boxes_3d", scoresKey: String = "scores_3d", labelsKey: String = "labels_3d"
    ) throws(PluginError) -> [(row: Int, detection: Detection3D)] {
        let boxes = try container.tensor(boxesKey, in: path, [.any("N"), .fixed(9)])
        let scores = try container.tensor(scoresKey, in: path, [.any("N")])
        let labels = try container.tensor(labelsKey, in: path, [.any("N")])
        try Check.sameCount([("\(path).\(boxesKey)", boxes), ("\(path).\(scoresKey)", scores), ("\(path).\(labelsKey)", labels)])
        var kept: [(row: Int, detection: Detection3D)] = []
        var nonFinite = 0
        for row in 0..<boxes.count {
            let score = scores[flat: row]
            guard score.isFinite else { nonFinite += 1; continue }
            guard score >= threshold else { continue }
            let label = try Check.label(labels[flat: row], key: "\(path).\(labelsKey)", row: row, classes: classes)
            let raw = boxes.row(row)
            try Check.finite(raw, key: "\(path).\(boxesKey)", row: row)
            let box = convention.box(raw)
            kept.append((row, Detection3D(
                label: classes[label], labelIndex: label, score: score, centerLidar: box.center,
                sizeWlh: box.sizeWlh, yawLidar: box.yaw, velocityLidar: box.velocity)))
        }
        if nonFinite > 0 {
            warnings.append("\(nonFinite) detection(s) with a non-finite score in '\(path).\(scoresKey)' were dropped")
        }
        return kept
    }
}

/// Reads MapTR-style vector map outputs (MapTR's own keys and VAD's `map_*` keys).
struct MapDecoder {
    let classes: [String]

    func decode(
        _ container: JSONValue, path: String, threshold: Double, warnings: inout [String], prefix: String = ""
    ) throws(PluginError) -> [MapElement] {
        let boxesKey = "\(prefix)boxes_3d", scoresKey = "\(prefix)scores_3d", labelsKey = "\(prefix)labels_3d", pointsKey = "\(prefix)pts_3d"
        let boxes = try container.tensor(boxesKey, in: path, [.any("N"), .fixed(4)])
        let scores = try container.tensor(scoresKey, in: path, [.any("N")])
        let labels = try container.tensor(labelsKey, in: path, [.any("N")])
        let points = try container.tensor(pointsKey, in: path, [.any("N"), .any("P"), .fixed(2)])
        try Check.sameCount([
            ("\(path).\(boxesKey)", boxes), ("\(path).\(scoresKey)", scores), ("\(path).\(labelsKey)", labels), ("\(path).\(pointsKey)", points),
        ])
        let perElement = points.shape.count == 3 ? points.shape[1] : 0
        if boxes.count > 0, perElement < 2 {
            throw PluginError(.wrongShape, "key '\(path).\(pointsKey)': expected shape (N,P,2) with P >= 2, got \(Tensor.describe(points.shape))")
        }
        var elements: [MapElement] = []
        var nonFinite = 0
        for row in 0..<boxes.count {
            let score = scores[flat: row]
            guard score.isFinite else { nonFinite += 1; continue }
            guard score >= threshold else { continue }
            // One query may appear twice with two labels (top-k over queries x classes): both are kept.
            let label = try Check.label(labels[flat: row], key: "\(path).\(labelsKey)", row: row, classes: classes)
            let box = boxes.row(row)
            try Check.finite(box, key: "\(path).\(boxesKey)", row: row)
            let flat = points.row(row)
            try Check.finite(flat, key: "\(path).\(pointsKey)", row: row)
            // The row as it is: a slice of the tensor's own buffer when that is float64, else one converted copy.
            let polyline = PointList(dimension: 2, coordinates: flat)
            elements.append(MapElement(label: classes[label], labelIndex: label, score: score, polylineLidar: polyline, bboxLidar: Array(box)))
        }
        if nonFinite > 0 {
            warnings.append("\(nonFinite) map element(s) with a non-finite score in '\(path).\(scoresKey)' were dropped")
        }
        return elements
    }
}
