#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Plugins
import PodAgentExtras

/// Turns a run's records into `report.json`'s content.
public enum ReportBuilder {
    public static let boxThresholds: [Double] = [0.5, 1, 2, 4]
    /// MapTR's evaluation thresholds for Chamfer distance.
    public static let chamferThresholds: [Double] = [0.5, 1, 1.5]

    public static func build(records: [CompareRecord], models: [String], samples: [String], facts: [String: ModelFacts] = [:],
                             tool: String, now: Date = Date()) -> CompareReport {
        let perModel = models.map { model in summary(model: model, records: records.filter { $0.model == model }, facts: facts[model]) }
        let failures = records.compactMap { record -> CompareReport.Failure? in
            guard let failure = record.failure else { return nil }
            return CompareReport.Failure(model: record.model, sample: record.sample, pod: record.pod,
                                         kind: failure.code.rawValue, message: failure.message)
        }
        return CompareReport(
            schemaVersion: CompareReport.currentSchemaVersion, generatedAt: Timestamp.seconds(now), tool: tool,
            models: models, samples: samples,
            thresholds: .init(boxCentreM: boxThresholds, mapChamferM: chamferThresholds),
            perModel: perModel, agreement: agreement(records: records, models: models, samples: samples),
            failures: failures, birdsEye: birdsEye(records: records, models: models, samples: samples))
    }

    static func summary(model: String, records: [CompareRecord], facts: ModelFacts?) -> CompareReport.ModelSummary {
        let successes = records.filter { $0.result != nil }
        let latencies = successes.compactMap(\.latencySeconds)
        var latency: CompareReport.Distribution?
        if let p50 = Stats.percentile(latencies, 50), let p95 = Stats.percentile(latencies, 95), let max = latencies.max() {
            latency = .init(p50: p50, p95: p95, max: max, mean: latencies.reduce(0, +) / Double(latencies.count))
        }
        var serverKeys = Set<String>()
        for record in successes { serverKeys.formUnion(record.serverTimings.keys) }
        var server: [String: Double] = [:]
        for key in serverKeys {
            server[key] = Stats.percentile(successes.compactMap { $0.serverTimings[key] }, 50)
        }
        let memory = records.compactMap(\.gpuMemoryMiB) + [facts?.gpuMemoryMiB].compactMap { $0 }
        var failures: [String: Int] = [:]
        for record in records { if let failure = record.failure { failures[failure.code.rawValue, default: 0] += 1 } }
        var perClass: [String: [String: Int]] = [:]
        var totals: [String: Int] = [:]
        for record in successes {
            guard let result = record.result else { continue }
            for (section, labels) in sectionLabels(result) {
                totals[section, default: 0] += labels.count
                for label in labels { perClass[section, default: [:]][label, default: 0] += 1 }
                if perClass[section] == nil { perClass[section] = [:] }
            }
        }
        let perSample = totals.mapValues { Double($0) / Double(max(successes.count, 1)) }
        return CompareReport.ModelSummary(
            model: model, pods: Array(Set(records.map(\.pod))).sorted(), requests: records.count, succeeded: successes.count,
            failed: records.count - successes.count, latencyS: latency, serverTimingsP50S: server,
            gpuMemoryPeakMiB: memory.max(), loadS: facts?.loadSeconds, failuresByKind: failures,
            outputsPerClass: perClass, outputsPerSample: perSample)
    }

    /// The labels of every item in each section the result has.
    static func sectionLabels(_ result: StandardResult) -> [(String, [String])] {
        var sections: [(String, [String])] = []
        if let items = result.detections { sections.append(("detections", items.map(\.label))) }
        if let items = result.mapElements { sections.append(("map_elements", items.map(\.label))) }
        if let items = result.laneCenterlines { sections.append(("lane_centerlines", items.map { _ in "lane" })) }
        if let items = result.trafficElements { sections.append(("traffic_elements", items.map(\.attribute))) }
        return sections
    }

    /// The items of `section` two models can be matched on, or nil when the result lacks the section.
    static func matchItems(_ result: StandardResult, section: String) -> [MatchItem]? {
        switch section {
        case "detections":
            return result.detections?.map { MatchItem(label: $0.label, score: $0.score, points: [Array($0.centerLidar.prefix(2))]) }
        case "map_elements":
            return result.mapElements?.map { MatchItem(label: $0.label, score: $0.score, points: $0.polylineLidar.rows) }
        case "lane_centerlines":
            return result.laneCenterlines?.map { lane in
                MatchItem(label: "lane", score: lane.score, points: lane.pointsEgo.map { Array($0.prefix(2)) })
            }
        default:
            return nil
        }
    }

    static let matchedSections: [(section: String, metric: String, thresholds: [Double])] = [
        ("detections", "centre_distance", boxThresholds),
        ("map_elements", "chamfer", chamferThresholds),
        ("lane_centerlines", "chamfer", chamferThresholds),
    ]

    static func agreement(records: [CompareRecord], models: [String], samples: [String]) -> [CompareReport.Agreement] {
        var byKey: [String: StandardResult] = [:]
        for record in records { if let result = record.result { byKey["\(record.model)\u{0}\(record.sample)"] = result } }
        var rows: [CompareReport.Agreement] = []
        for (i, first) in models.enumerated() {
            for second in models[(i + 1)...] {
                for (section, metric, thresholds) in matchedSections {
                    let distance: (MatchItem, MatchItem) -> Double = metric == "chamfer"
                        ? { Matching.chamfer($0, $1) } : { Matching.centreDistance($0, $1) }
                    var pairs: [([MatchItem], [MatchItem])] = []
                    for sample in samples {
                        guard let a = byKey["\(first)\u{0}\(sample)"].flatMap({ matchItems($0, section: section) }),
                              let b = byKey["\(second)\u{0}\(sample)"].flatMap({ matchItems($0, section: section) }) else { continue }
                        pairs.append((a, b))
                    }
                    guard !pairs.isEmpty else { continue }
                    let levels = thresholds.map { threshold in
                        level(pairs: pairs, threshold: threshold, distance: distance)
                    }
                    rows.append(.init(models: [first, second], section: section, metric: metric, samples: pairs.count, levels: levels))
                }
            }
        }
        return rows
    }

    static func level(pairs: [([MatchItem], [MatchItem])], threshold: Double,
                      distance: (MatchItem, MatchItem) -> Double) -> CompareReport.Agreement.Level {
        var matchedFirst = 0, matchedSecond = 0, countFirst = 0, countSecond = 0
        var distances: [Double] = []
        for (a, b) in pairs {
            let forward = Matching.greedy(predictions: a, references: b, threshold: threshold, distance: distance)
            let backward = Matching.greedy(predictions: b, references: a, threshold: threshold, distance: distance)
            matchedFirst += forward.count
            matchedSecond += backward.count
            countFirst += a.count
            countSecond += b.count
            distances += forward.map(\.distance)
        }
        let total = countFirst + countSecond
        return .init(thresholdM: threshold, matchedFirst: matchedFirst, matchedSecond: matchedSecond, countFirst: countFirst,
                     countSecond: countSecond, agreement: total == 0 ? nil : Double(matchedFirst + matchedSecond) / Double(total),
                     meanDistanceM: distances.isEmpty ? nil : distances.reduce(0, +) / Double(distances.count))
    }

    /// The first sample every model answered (else the one most models answered), each model's geometry in it.
    static func birdsEye(records: [CompareRecord], models: [String], samples: [String]) -> CompareReport.BirdsEye? {
        func answered(_ sample: String) -> Int { Set(records.filter { $0.sample == sample && $0.result != nil }.map(\.model)).count }
        guard let sample = samples.first(where: { answered($0) == models.count }) ?? samples.max(by: { answered($0) < answered($1) }),
              answered(sample) > 0 else { return nil }
        let geometry = models.compactMap { model -> CompareReport.ModelGeometry? in
            guard let result = records.first(where: { $0.model == model && $0.sample == sample && $0.result != nil })?.result else { return nil }
            let boxes = (result.detections ?? []).map {
                CompareReport.ModelGeometry.Box(label: $0.label, score: $0.score, centerXY: Array($0.centerLidar.prefix(2)),
                                                sizeWL: Array($0.sizeWlh.prefix(2)), yaw: $0.yawLidar)
            }
            let polylines = (result.mapElements ?? []).map { CompareReport.ModelGeometry.Polyline(label: $0.label, points: $0.polylineLidar.rows) }
                + (result.laneCenterlines ?? []).map { .init(label: "lane", points: $0.pointsEgo.map { Array($0.prefix(2)) }) }
            var trajectories = (result.detections ?? []).flatMap { $0.trajectoriesLidar?.rows ?? [] }
            if let plan = result.egoPlan { trajectories.append(plan.trajectoryLidar.rows) }
            return .init(model: model, boxes: boxes, polylines: polylines, trajectories: trajectories)
        }
        return CompareReport.BirdsEye(sample: sample, models: geometry)
    }
}
