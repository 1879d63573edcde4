#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An item two models can agree on: a class, a score, and either a centre (boxes) or points (polylines).
public struct MatchItem: Sendable, Equatable {
    public var label: String
    public var score: Double
    /// Box centre `[x, y]`, or the polyline's points.
    public var points: [[Double]]

    public init(label: String, score: Double, points: [[Double]]) {
        self.label = label
        self.score = score
        self.points = points
    }
}

/// One match found between a "prediction" list and a "reference" list.
public struct MatchPair: Sendable, Equatable {
    public var prediction: Int
    public var reference: Int
    public var distance: Double
}

/// Matching rules shared by boxes and polylines.
public enum Matching {
    /// nuScenes' rule, with another model standing in for ground truth: predictions by descending score
    /// (ties by position), each taking the closest still-unmatched reference of the same class within
    /// `threshold`. `distance(p, r)` is the metric (centre distance for boxes, Chamfer for polylines).
    public static func greedy(predictions: [MatchItem], references: [MatchItem], threshold: Double,
                              distance: (MatchItem, MatchItem) -> Double) -> [MatchPair] {
        let order = predictions.indices.sorted {
            predictions[$0].score != predictions[$1].score ? predictions[$0].score > predictions[$1].score : $0 < $1
        }
        var taken = [Bool](repeating: false, count: references.count)
        var pairs: [MatchPair] = []
        for index in order {
            let prediction = predictions[index]
            var best: (Int, Double)?
            for (candidate, reference) in references.enumerated() where !taken[candidate] && reference.label == prediction.label {
                let d = distance(prediction, reference)
                if d <= threshold, best.map({ d < $0.1 }) ?? true { best = (candidate, d) }
            }
            if let (candidate, d) = best {
                taken[candidate] = true
                pairs.append(MatchPair(prediction: index, reference: candidate, distance: d))
            }
        }
        return pairs
    }

    /// Euclidean distance between the first two coordinates of the items' first points (box centres in the
    /// ground plane, as nuScenes' `center_distance`).
    public static func centreDistance(_ a: MatchItem, _ b: MatchItem) -> Double {
        guard let p = a.points.first, let q = b.points.first, p.count >= 2, q.count >= 2 else { return .infinity }
        return hypot(p[0] - q[0], p[1] - q[1])
    }

    /// Symmetric Chamfer distance between two polylines' points (x, y): the mean of the two directed
    /// mean nearest-point distances, in metres (MapTR's evaluation uses the same definition).
    public static func chamfer(_ a: MatchItem, _ b: MatchItem) -> Double {
        chamfer(a.points, b.points)
    }

    public static func chamfer(_ a: [[Double]], _ b: [[Double]]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return .infinity }
        func directed(_ from: [[Double]], _ to: [[Double]]) -> Double {
            var total = 0.0
            for p in from {
                var nearest = Double.infinity
                for q in to { nearest = min(nearest, hypot(p[0] - q[0], p[1] - q[1])) }
                total += nearest
            }
            return total / Double(from.count)
        }
        return (directed(a, b) + directed(b, a)) / 2
    }
}
