import Foundation
import Testing
@testable import Plugins

@Suite("Box conventions, trajectories, plans and lanes against hand computation")
struct ConventionTests {
    // One raw row: [x, y, z_bottom, d3, d4, d5, yaw, vx, vy] = [1, 2, -1.5, 2, 4, 1.5, 0.3, 1, 0.5].
    static let row: [Double] = [1, 2, -1.5, 2, 4, 1.5, 0.3, 1, 0.5]

    @Test("mmdet3d 0.17: dims are w,l,h and yaw_nus = -yaw - pi/2")
    func convention017() {
        // By hand: w = 2, l = 4, h = 1.5; gravity z = -1.5 + 1.5/2 = -0.75;
        // yaw = -0.3 - pi/2 = -0.3 - 1.5707963267948966 = -1.8707963267948966.
        let box = BoxConvention.mmdet3d017.box(Self.row[...])
        #expect(box.center == [1, 2, -0.75])
        #expect(box.sizeWlh == [2, 4, 1.5])
        #expect(abs(box.yaw - -1.8707963267948966) < 1e-15)
        #expect(box.velocity == [1, 0.5])
    }

    @Test("mmdet3d 1.0: dims are l,w,h (swapped back to w,l,h) and yaw is kept")
    func convention10() {
        // By hand: l = 2, w = 4, h = 1.5 -> size [w, l, h] = [4, 2, 1.5]; z = -0.75; yaw = 0.3.
        let box = BoxConvention.mmdet3d10.box(Self.row[...])
        #expect(box.center == [1, 2, -0.75])
        #expect(box.sizeWlh == [4, 2, 1.5])
        #expect(box.yaw == 0.3)
        #expect(box.velocity == [1, 0.5])
    }

    @Test("PETR and StreamPETR parsers apply their own convention")
    func parsersUseConventions() throws {
        let raw = try JSONReader.parse(#"{"pts_bbox": {"boxes_3d": [[1, 2, -1.5, 2, 4, 1.5, 0.3, 1, 0.5]], "scores_3d": [0.9], "labels_3d": [0]}}"#)
        let petr = try #require(try Fixture.plugin("PETR").parse(raw: raw).detections?.first)
        let stream = try #require(try Fixture.plugin("StreamPETR").parse(raw: raw).detections?.first)
        #expect(petr.sizeWlh == [2, 4, 1.5] && abs(petr.yawLidar - -1.8707963267948966) < 1e-15)
        #expect(stream.sizeWlh == [4, 2, 1.5] && stream.yawLidar == 0.3)
        #expect(petr.label == "car" && petr.centerLidar == [1, 2, -0.75])
    }

    @Test("nuScenes export of one box, transformed by hand")
    func nuScenesByHand() throws {
        // lidar->ego: 90 deg about z, q = [cos 45, 0, 0, sin 45], t = [1, 0, 2]; ego->global: identity, t = [100, 200, 0].
        // Box (0.17): gravity centre (1, 2, -0.75). Rotating (x, y) by 90 deg gives (-y, x) = (-2, 1);
        // + t -> ego (-1, 1, 1.25), radius 1.41 m (inside 50 m); global (99, 201, 1.25).
        // Yaw -1.8707963 + pi/2 = -0.3 -> quaternion [cos(-0.15), 0, 0, sin(-0.15)] = [0.9887710779, 0, 0, -0.1494381325].
        // Velocity (1, 0.5, 0) -> (-0.5, 1); speed 1.118 m/s > 0.2 -> car is "vehicle.moving".
        let s = 0.5.squareRoot()
        let calib = SampleCalibration(
            lidarToEgoRotation: Quaternion(w: s, x: 0, y: 0, z: s), lidarToEgoTranslation: [1, 0, 2],
            egoToGlobalRotation: Quaternion(w: 1, x: 0, y: 0, z: 0), egoToGlobalTranslation: [100, 200, 0])
        let raw = try JSONReader.parse(#"{"sample_token": "t1", "pts_bbox": {"boxes_3d": [[1, 2, -1.5, 2, 4, 1.5, 0.3, 1, 0.5]], "scores_3d": [0.9], "labels_3d": [0]}}"#)
        let result = try Fixture.plugin("PETR").parse(raw: raw)
        let submission = try NuScenesExport.submission([result], calibration: ["t1": calib])
        let expected = try JSONReader.parse("""
            {"meta": {"use_camera": true, "use_lidar": false, "use_radar": false, "use_map": false, "use_external": false},
             "results": {"t1": [{"sample_token": "t1", "translation": [99, 201, 1.25], "size": [2, 4, 1.5],
               "rotation": [0.9887710779360422, 0, 0, -0.14943813247359922], "velocity": [-0.5, 1],
               "detection_name": "car", "detection_score": 0.9, "attribute_name": "vehicle.moving"}]}}
            """)
        #expect(approximatelyEqual(submission, expected, tolerance: 1e-12) == nil)
    }

    @Test("nuScenes attributes follow mmdet3d's table")
    func attributes() {
        #expect(NuScenesExport.attribute(for: "car", speed: 0.3) == "vehicle.moving")
        #expect(NuScenesExport.attribute(for: "car", speed: 0.2) == "vehicle.parked")
        #expect(NuScenesExport.attribute(for: "bus", speed: 0) == "vehicle.stopped")
        #expect(NuScenesExport.attribute(for: "pedestrian", speed: 1) == "pedestrian.moving")
        #expect(NuScenesExport.attribute(for: "pedestrian", speed: 0) == "pedestrian.standing")
        #expect(NuScenesExport.attribute(for: "motorcycle", speed: 1) == "cycle.with_rider")
        #expect(NuScenesExport.attribute(for: "bicycle", speed: 0) == "cycle.without_rider")
        #expect(NuScenesExport.attribute(for: "barrier", speed: 5) == "")
        #expect(NuScenesExport.attribute(for: "traffic_cone", speed: 0) == "")
    }

    @Test("the 500-box cap keeps the best scores")
    func cap() throws {
        let boxes = (0..<600).map { i in "[\(Double(i % 40)), 0, -1, 2, 4, 1.5, 0, 0, 0]" }.joined(separator: ",")
        let scores = (0..<600).map { i in String(Double(i) / 1000) }.joined(separator: ",")
        let labels = Array(repeating: "0", count: 600).joined(separator: ",")
        let raw = try JSONReader.parse(#"{"sample_token": "t", "pts_bbox": {"boxes_3d": [\#(boxes)], "scores_3d": [\#(scores)], "labels_3d": [\#(labels)]}}"#)
        let result = try Fixture.plugin("PETR").parse(raw: raw)
        let submission = try NuScenesExport.submission([result], calibration: ["t": .identity])
        let boxesOut = try #require(submission["results"]?["t"]?.arrayValue)
        #expect(boxesOut.count == 500)
        let lowest = boxesOut.compactMap { $0["detection_score"]?.numberValue }.min()
        #expect(lowest == 0.1)
    }

    @Test("VAD: trajectories are cumulative sums plus the box centre; the plan follows the command")
    func vadByHand() throws {
        let raw = try Fixture.json("vad_typical.json")
        let result = try Fixture.plugin("VAD").parse(raw: raw)
        let detection = try #require(result.detections?.first)
        let firstMode = try #require(raw["pts_bbox"]?["trajs_3d"]?.arrayValue?.first?.arrayValue?.first?.arrayValue)
        let offsets = firstMode.compactMap { $0.numberValue }
        // Mode 0: the box centre (10, 5) plus the running sum of (dx, dy) pairs.
        var x = 10.0, y = 5.0
        var expected: [[Double]] = []
        for step in 0..<6 {
            x += offsets[2 * step]
            y += offsets[2 * step + 1]
            expected.append([x, y])
        }
        let mode0 = try #require(detection.trajectoriesLidar?.first)
        #expect(zip(mode0, expected).allSatisfy { abs($0[0] - $1[0]) < 1e-12 && abs($0[1] - $1[1]) < 1e-12 })
        #expect(detection.trajectoriesLidar?.count == 6 && mode0.count == 6)
        #expect(detection.trajectoryStepSeconds == 0.5)

        let plan = try #require(result.egoPlan)
        // ego_fut_cmd is [0, 1, 0]: index 1 in [turn_right, turn_left, go_straight].
        #expect(plan.command == "turn_left" && plan.commandIndex == 1)
        #expect(plan.candidates.map(\.command) == ["turn_right", "turn_left", "go_straight"])
        let row = try #require(raw["pts_bbox"]?["ego_fut_preds"]?.arrayValue?[1].arrayValue)
        var px = 0.0, py = 0.0
        for (step, point) in row.enumerated() {
            px += point.arrayValue?[0].numberValue ?? .nan
            py += point.arrayValue?[1].numberValue ?? .nan
            #expect(abs(plan.trajectoryLidar[step][0] - px) < 1e-12 && abs(plan.trajectoryLidar[step][1] - py) < 1e-12)
        }
        #expect(plan.trajectoryLidar == plan.candidates[1].trajectoryLidar)
        // VAD's score_thresh 0.2 is the manifest default: the 0.12 box is gone; the 0.15 map element stays
        // (VAD thresholds boxes only, nuscenes_vad_dataset.py l.1483).
        #expect(result.detections?.count == 7 && result.mapElements?.count == 3)
    }

    @Test("TopoMLP: ascending stable order, Bezier samples, ids and reordered topology")
    func topoMLPByHand() throws {
        let raw = try Fixture.json("topomlp_typical.json")
        let result = try Fixture.plugin("TopoMLP").parse(raw: raw, options: ParseOptions(topologyThreshold: 0, denseTopology: true))
        let lanes = try #require(result.laneCenterlines)
        // Scores [0.30, 0.90, 0.05, 0.60, 0.30] -> ascending, stable: rows [2, 0, 4, 3, 1].
        let order = [2, 0, 4, 3, 1]
        #expect(lanes.map(\.id) == [1000, 1001, 1002, 1003, 1004])
        #expect(lanes.map(\.score) == [0.05, 0.30, 0.30, 0.60, 0.90])
        let ctrl = try #require(raw["pred_lc"]?.arrayValue?[0].arrayValue)
        for (position, row) in order.enumerated() {
            let rowValues = try #require(ctrl[row].arrayValue)
            let p = rowValues.compactMap { $0.numberValue }
            let points = lanes[position].pointsEgo
            #expect(points.count == 11)
            // t = 0 and t = 1 are the end control points; t = 0.5 weighs them 1/8, 3/8, 3/8, 1/8.
            #expect(points[0] == [p[0], p[1], p[2]])
            #expect(zip(points[10], [p[9], p[10], p[11]]).allSatisfy { abs($0 - $1) < 1e-12 })
            for axis in 0..<3 {
                let mid = (p[axis] + 3 * p[3 + axis] + 3 * p[6 + axis] + p[9 + axis]) / 8
                #expect(abs(points[5][axis] - mid) < 1e-12)
            }
        }
        let lclc = try #require(raw["pred_topology_lclc"]?.arrayValue)
        let dense = try #require(result.topology?.laneLaneDense)
        for i in 0..<5 {
            for j in 0..<5 {
                #expect(dense[i][j] == lclc[order[i]].arrayValue?[order[j]].numberValue)
            }
        }
        let lcte = try #require(raw["pred_topology_lcte"]?.arrayValue)
        let expectedRow = lcte[2].arrayValue?.compactMap { $0.numberValue }
        #expect(result.topology?.laneTrafficDense?[0] == expectedRow)
        #expect(result.topology?.laneLane.count == 25)
        let elements = try #require(result.trafficElements)
        #expect(elements.map(\.id) == [2000, 2001, 2002])
        #expect(elements.map(\.attribute) == ["red", "go_straight", "unknown"])
        #expect(elements[1].bboxImageFront == [400.5, 120, 420, 170])
        // Sparse pairs above a threshold, ids as in the lists.
        let sparse = try Fixture.plugin("TopoMLP").parse(raw: raw, options: ParseOptions(topologyThreshold: 0.5))
        let expectedPairs = (0..<5).flatMap { i in (0..<5).compactMap { j -> Topology.Pair? in
            let p = lclc[order[i]].arrayValue?[order[j]].numberValue ?? 0
            return p >= 0.5 ? Topology.Pair(from: 1000 + i, to: 1000 + j, probability: p) : nil
        } }
        #expect(sparse.topology?.laneLane == expectedPairs)
        #expect(sparse.topology?.laneLaneDense == nil)
    }
}
