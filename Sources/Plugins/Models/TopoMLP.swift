/// TopoMLP (wudongming97/TopoMLP): lane centrelines, traffic elements and their topology (OpenLane-V2).
///
/// Raw: `pred_lc = [ctrl (300,12), scores (300,1)]`, `pred_te = [bboxes (100,5), scores (100,)]`,
/// `pred_topology_lclc` (300,300), `pred_topology_lcte` (300,100).
///
/// Like the devkit formatter (`format_preds`): lanes are put in ascending score order (first 300),
/// ids `1000 + position`; the 4 control points are sampled to 11 points with the cubic Bernstein basis
/// at t = 0, 0.1, ..., 1; the lane-lane matrix is reordered on both axes and the lane-traffic matrix
/// on its rows. Traffic elements keep query order, ids `2000 + index`.
public struct TopoMLPPlugin: ModelPlugin {
    /// The traffic-element attributes, index = label.
    public static let attributes = [
        "unknown", "red", "green", "yellow", "go_straight", "turn_left", "turn_right", "no_left_turn",
        "no_right_turn", "u_turn", "no_u_turn", "slight_left", "slight_right",
    ]
    static let maxLanes = 300
    static let samplePoints = 11

    public let manifest: PluginManifest

    public init(manifest: PluginManifest) throws(PluginError) {
        guard !manifest.classNames.isEmpty else {
            throw PluginError(.invalidManifest, "\(manifest.sourcePath): key 'class_names': the traffic-element attributes are required")
        }
        self.manifest = manifest
    }

    public var platform: String { "pytorch_mmdetection" }
    public var inputs: [TensorMetadata] { [TensorMetadata("img", "FP32", [1, 7, 3, -1, -1])] }
    public var outputs: [TensorMetadata] {
        [
            TensorMetadata("pred_lc.ctrl_pts", "FP32", [300, 12]), TensorMetadata("pred_lc.scores", "FP32", [300, 1]),
            TensorMetadata("pred_te.bboxes", "FP32", [100, 5]), TensorMetadata("pred_te.scores", "FP32", [100]),
            TensorMetadata("pred_topology_lclc", "FP32", [300, 300]), TensorMetadata("pred_topology_lcte", "FP32", [300, 100]),
        ]
    }

    public func decode(sample: JSONValue, into result: inout StandardResult, options: ParseOptions) throws(PluginError) {
        let lc = try pair(sample, "pred_lc")
        let ctrl = try Tensor.read(lc.0, key: "pred_lc[0]", expected: [.any("L"), .any("3K")])
        let lcScores = try Tensor.read(lc.1, key: "pred_lc[1]", expected: [.any("L"), .fixed(1)])
        let te = try pair(sample, "pred_te")
        let teBoxes = try Tensor.read(te.0, key: "pred_te[0]", expected: [.any("T"), .fixed(5)])
        let teScores = try Tensor.read(te.1, key: "pred_te[1]", expected: [.any("T")])
        try Check.sameCount([("pred_lc[0]", ctrl), ("pred_lc[1]", lcScores)])
        try Check.sameCount([("pred_te[0]", teBoxes), ("pred_te[1]", teScores)])
        let lanes = ctrl.count, elements = teBoxes.count
        let lclc = try sample.tensor("pred_topology_lclc", in: "", [.fixed(lanes), .fixed(lanes)])
        let lcte = try sample.tensor("pred_topology_lcte", in: "", [.fixed(lanes), .fixed(elements)])
        let width = ctrl.shape.count == 2 ? ctrl.shape[1] : 0
        if lanes > 0, width == 0 || width % 3 != 0 {
            throw PluginError(.wrongShape, "key 'pred_lc[0]': expected shape (L,3K) (K control points of x, y, z), got \(Tensor.describe(ctrl.shape))")
        }
        let threshold = result.meta.scoreThreshold
        var warnings: [String] = []

        // Ascending stable sort by score, first 300: the devkit formatter's order (NaN last, like numpy).
        // Every non-finite score sorts as NaN: a JSON answer carries NaN and infinities alike as null,
        // and a binary one must give the same ids (docs/worker-protocol.md).
        let order = Array((0..<lanes).sorted { a, b in
            let sa = lcScores[flat: a], sb = lcScores[flat: b]
            if !sa.isFinite || !sb.isFinite { return sa.isFinite && !sb.isFinite }
            return sa < sb
        }.prefix(Self.maxLanes))
        let basis = Self.bernstein(controlPoints: width / 3)
        var keptLanes: [Int] = []  // raw row of each kept lane
        var centerlines: [LaneCenterline] = []
        var nonFinite = 0
        for (position, row) in order.enumerated() {
            let score = lcScores[flat: row]
            guard score.isFinite else { nonFinite += 1; continue }
            guard score >= threshold else { continue }
            let flat = ctrl.row(row)
            try Check.finite(flat, key: "pred_lc[0]", row: row)
            centerlines.append(LaneCenterline(id: 1000 + position, score: score, pointsEgo: Self.sample(flat, basis: basis)))
            keptLanes.append(row)
        }
        if nonFinite > 0 { warnings.append("\(nonFinite) lane(s) with a non-finite score in 'pred_lc[1]' were dropped") }

        var keptElements: [Int] = []
        var traffic: [TrafficElement] = []
        nonFinite = 0
        for row in 0..<elements {
            let score = teScores[flat: row]
            guard score.isFinite else { nonFinite += 1; continue }
            guard score >= threshold else { continue }
            let box = teBoxes.row(row)
            try Check.finite(box, key: "pred_te[0]", row: row)
            let attribute = try Check.label(box[box.startIndex + 4], key: "pred_te[0][:, 4]", row: row, classes: manifest.classNames)
            traffic.append(TrafficElement(
                id: 2000 + row, attribute: manifest.classNames[attribute], attributeIndex: attribute, score: score,
                bboxImageFront: Array(box.prefix(4))))
            keptElements.append(row)
        }
        if nonFinite > 0 { warnings.append("\(nonFinite) traffic element(s) with a non-finite score in 'pred_te[1]' were dropped") }

        result.laneCenterlines = centerlines
        result.trafficElements = traffic
        result.topology = try topology(
            lclc: lclc, lcte: lcte, lanes: keptLanes, laneIDs: centerlines.map(\.id), elements: keptElements,
            elementIDs: traffic.map(\.id), options: options)
        result.meta.warnings += warnings
    }

    private func pair(_ sample: JSONValue, _ key: String) throws(PluginError) -> (JSONValue, JSONValue) {
        let value = try sample.require(key, in: "")
        guard case .array(let items) = value, items.count == 2 else {
            let actual = value.arrayValue.map { "a list of \($0.count)" } ?? value.kind
            throw PluginError(.wrongShape, "key '\(key)': expected a pair [values, scores], got \(actual)")
        }
        return (items[0], items[1])
    }

    private func topology(
        lclc: Tensor, lcte: Tensor, lanes: [Int], laneIDs: [Int], elements: [Int], elementIDs: [Int], options: ParseOptions
    ) throws(PluginError) -> Topology {
        let cut = options.topologyThreshold
        var laneLane: [Topology.Pair] = []
        var laneTraffic: [Topology.Pair] = []
        var laneLaneDense: [[Double]] = []
        var laneTrafficDense: [[Double]] = []
        for (i, from) in lanes.enumerated() {
            // One row at a time as Doubles (a float32 frame is converted per row, not per element).
            let laneRow = lclc.row(from), trafficValues = lcte.row(from)
            var row: [Double] = []
            if options.denseTopology { row.reserveCapacity(lanes.count) }
            for (j, to) in lanes.enumerated() {
                let p = laneRow[laneRow.startIndex + to]
                guard p.isFinite else { throw PluginError(.invalidValue, "key 'pred_topology_lclc'[\(from)][\(to)]: non-finite value \(p)") }
                if p >= cut { laneLane.append(.init(from: laneIDs[i], to: laneIDs[j], probability: p)) }
                if options.denseTopology { row.append(p) }
            }
            if options.denseTopology { laneLaneDense.append(row) }
            var trafficRow: [Double] = []
            for (j, to) in elements.enumerated() {
                let p = trafficValues[trafficValues.startIndex + to]
                guard p.isFinite else { throw PluginError(.invalidValue, "key 'pred_topology_lcte'[\(from)][\(to)]: non-finite value \(p)") }
                if p >= cut { laneTraffic.append(.init(from: laneIDs[i], to: elementIDs[j], probability: p)) }
                if options.denseTopology { trafficRow.append(p) }
            }
            if options.denseTopology { laneTrafficDense.append(trafficRow) }
        }
        return Topology(
            threshold: cut, laneLane: laneLane, laneTraffic: laneTraffic,
            laneLaneDense: options.denseTopology ? laneLaneDense : nil,
            laneTrafficDense: options.denseTopology ? laneTrafficDense : nil)
    }

    /// The Bernstein basis (samplePoints × controlPoints) at t = i / (samplePoints - 1); empty when the
    /// lane is given as points already (the formatter samples 3, 4 or 5 control points only).
    static func bernstein(controlPoints n: Int) -> [[Double]] {
        guard (3...5).contains(n) else { return [] }
        let degree = n - 1
        func choose(_ n: Int, _ k: Int) -> Double {
            var value = 1.0
            for i in 0..<k { value = value * Double(n - i) / Double(i + 1) }
            return value
        }
        return (0..<samplePoints).map { i in
            let t = Double(i) / Double(samplePoints - 1)
            return (0..<n).map { j in choose(degree, j) * pow(1 - t, Double(degree - j)) * pow(t, Double(j)) }
        }
    }

    static func sample(_ flat: ArraySlice<Double>, basis: [[Double]]) -> PointList {
        let start = flat.startIndex
        guard !basis.isEmpty else { return PointList(dimension: 3, coordinates: flat) }
        var points = [Double](repeating: 0, count: basis.count * 3)
        for (index, weights) in basis.enumerated() {
            var x = 0.0, y = 0.0, z = 0.0
            for (k, weight) in weights.enumerated() {
                x += weight * flat[start + 3 * k]
                y += weight * flat[start + 3 * k + 1]
                z += weight * flat[start + 3 * k + 2]
            }
            points[3 * index] = x
            points[3 * index + 1] = y
            points[3 * index + 2] = z
        }
        return PointList(dimension: 3, coordinates: points)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
