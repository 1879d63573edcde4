import Foundation
import Testing

@testable import Compare

@Suite("compare metrics: box matching, Chamfer, percentiles")
struct GeometryTests {
    func box(_ label: String, _ x: Double, _ y: Double, score: Double = 0.9) -> MatchItem {
        MatchItem(label: label, score: score, points: [[x, y]])
    }

    @Test func boxesAtKnownDistancesMatchAtTheRightThresholds() {
        // Five references on a line 20 m apart; each prediction is offset from its reference by a known distance.
        let offsets = [0.3, 0.8, 1.5, 3.0, 5.0]
        let references = offsets.indices.map { box("car", Double($0) * 20, 0) }
        // Offsets along a diagonal: the distance is the offset, not a coordinate difference.
        let predictions = offsets.enumerated().map { index, offset in
            box("car", Double(index) * 20 + offset * 0.6, offset * 0.8, score: 0.9 - Double(index) * 0.1)
        }
        let expected: [Double: Int] = [0.5: 1, 1: 2, 2: 3, 4: 4]
        for (threshold, count) in expected {
            let pairs = Matching.greedy(predictions: predictions, references: references, threshold: threshold,
                                        distance: Matching.centreDistance)
            #expect(pairs.count == count, "at \(threshold) m")
            for pair in pairs {
                #expect(pair.prediction == pair.reference)
                #expect(abs(pair.distance - offsets[pair.prediction]) < 1e-9)
            }
        }
    }

    @Test func onlyTheSameClassMatches() {
        let pairs = Matching.greedy(predictions: [box("car", 0, 0)], references: [box("truck", 0, 0)], threshold: 4,
                                    distance: Matching.centreDistance)
        #expect(pairs.isEmpty)
    }

    @Test func higherScoreTakesTheReferenceFirstEvenWhenFarther() {
        // nuScenes' rule: predictions in descending score order, each takes the closest unmatched reference.
        let near = box("car", 0.1, 0, score: 0.2)
        let far = box("car", 1.5, 0, score: 0.95)
        let pairs = Matching.greedy(predictions: [near, far], references: [box("car", 0, 0)], threshold: 2,
                                    distance: Matching.centreDistance)
        #expect(pairs.count == 1)
        #expect(pairs.first?.prediction == 1)
        #expect(abs((pairs.first?.distance ?? 0) - 1.5) < 1e-9)
    }

    @Test func eachReferenceIsUsedOnce() {
        let pairs = Matching.greedy(predictions: [box("car", 0, 0), box("car", 0.2, 0)], references: [box("car", 0.1, 0)],
                                    threshold: 1, distance: Matching.centreDistance)
        #expect(pairs.count == 1)
    }

    @Test func chamferOfKnownPolylines() {
        let line = (0..<20).map { [Double($0), 0.0] }
        let shifted = line.map { [$0[0], 1.0] }
        #expect(Matching.chamfer(line, line) == 0)
        #expect(abs(Matching.chamfer(line, shifted) - 1.0) < 1e-12)
        // A half-length copy: from the short line every point is on the long one (0); from the long line the
        // far half is 1..10 m from the short line's end, so the directed mean is (1+...+10)/20 = 2.75; Chamfer 1.375.
        let half = Array(line.prefix(10))
        #expect(abs(Matching.chamfer(line, half) - 1.375) < 1e-12)
        #expect(Matching.chamfer(line, half) == Matching.chamfer(half, line))
        let elements = [MatchItem(label: "divider", score: 0.8, points: shifted)]
        let reference = [MatchItem(label: "divider", score: 0.5, points: line)]
        for (threshold, count) in [(0.5, 0), (1.0, 1), (1.5, 1)] {
            #expect(Matching.greedy(predictions: elements, references: reference, threshold: threshold,
                                    distance: Matching.chamfer).count == count, "at \(threshold) m")
        }
    }

    @Test func agreementIsSymmetric() {
        let a = [box("car", 0, 0, score: 0.9), box("car", 0.4, 0, score: 0.8), box("ped", 10, 10)]
        let b = [box("car", 0.3, 0, score: 0.7), box("ped", 10.5, 10)]
        for threshold in ReportBuilder.boxThresholds {
            let ab = ReportBuilder.level(pairs: [(a, b)], threshold: threshold, distance: Matching.centreDistance)
            let ba = ReportBuilder.level(pairs: [(b, a)], threshold: threshold, distance: Matching.centreDistance)
            #expect(ab.agreement == ba.agreement)
            #expect(ab.matchedFirst == ba.matchedSecond && ab.countFirst == ba.countSecond)
        }
        let tight = ReportBuilder.level(pairs: [(a, b)], threshold: 0.5, distance: Matching.centreDistance)
        // car(0.9) takes the reference car at 0.3 m; ped is 0.5 m off: matched at 0.5 (<=).
        #expect(tight.matchedFirst == 2 && tight.matchedSecond == 2)
        #expect(tight.agreement == 4.0 / 5.0)
    }

    @Test func percentilesInterpolate() {
        #expect(Stats.percentile([], 50) == nil)
        #expect(Stats.percentile([3, 1, 2], 50) == 2)
        #expect(Stats.percentile([1, 2], 50) == 1.5)
        #expect(Stats.percentile(Array(1...100).map(Double.init), 95) == 95.05)
        #expect(Stats.percentile([7], 95) == 7)
    }

    @Test func seriesAndOptionsParse() throws {
        let series = try CompareSeries.parse(models: "petr=Demo@http://127.0.0.1:1,vad=Demo@pod2,PETR",
                                             options: ["score_threshold=0.3", "vad:raw_format=vad", "petr:detections=5"])
        #expect(series.map(\.label) == ["petr", "vad", "PETR"])
        #expect(series[0].target == "http://127.0.0.1:1" && series[0].model == "Demo")
        #expect(series[1].options["raw_format"] == .string("vad"))
        #expect(series[0].options["detections"] == .number(5))
        #expect(series[2].options["score_threshold"] == .number(0.3))
        #expect(throws: CompareError.self) { try CompareSeries.parse(models: "A,A", options: []) }
        #expect(throws: CompareError.self) { try CompareSeries.parse(models: "A", options: ["nope:x=1"]) }
    }
}
