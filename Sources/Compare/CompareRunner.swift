#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import PodAgentExtras

/// Runs every sample through every series on the targets that serve it.
public enum CompareRunner {
    /// Progress after each request: (done, total, failed).
    public typealias Progress = @Sendable (Int, Int, Int) -> Void

    /// Each target runs its share one request at a time (so one model's latency is not inflated by another's
    /// on the same pod); targets run in parallel. A series' samples are spread round-robin over the targets
    /// that serve its model. A series no target serves fails every sample with `not_found`, named in the report.
    public static func run(samples: [Sample], series: [CompareSeries], targets: [CompareTarget],
                           progress: Progress? = nil) -> (records: [CompareRecord], facts: [String: ModelFacts]) {
        var work: [[(series: CompareSeries, sample: Sample)]] = Array(repeating: [], count: targets.count)
        var records: [CompareRecord] = []
        var facts: [String: ModelFacts] = [:]
        for entry in series {
            let serving = targets.indices.filter { index in
                let target = targets[index]
                return (entry.target == nil || entry.target == target.name) && target.served.contains { $0.name == entry.model }
            }
            let listed = serving.compactMap { targets[$0].served.first { $0.name == entry.model } }
            facts[entry.label] = ModelFacts(loadSeconds: listed.compactMap(\.longestLoadSeconds).max(),
                                            gpuMemoryMiB: listed.compactMap(\.instancesGPUMemoryMiB).max())
            guard !serving.isEmpty else {
                let why: String
                if targets.isEmpty {
                    why = "no agent could be reached"
                } else if let pinned = entry.target, !targets.contains(where: { $0.name == pinned }) {
                    why = "there is no reachable target called '\(pinned)' (targets: \(targets.map(\.name).joined(separator: ", ")))"
                } else if let pinned = entry.target {
                    why = "target '\(pinned)' does not serve model '\(entry.model)'"
                } else {
                    why = "no target (\(targets.map(\.name).joined(separator: ", "))) serves model '\(entry.model)'"
                }
                for sample in samples {
                    records.append(CompareRecord(model: entry.label, sample: sample.id, pod: entry.target ?? "-",
                                                 failure: CompareError(.notFound, why)))
                }
                continue
            }
            for (offset, sample) in samples.enumerated() { work[serving[offset % serving.count]].append((entry, sample)) }
        }
        let total = samples.count * series.count
        let state = Mutex<(records: [CompareRecord], done: Int, failed: Int)>((records, records.count, records.count))
        if !records.isEmpty { progress?(records.count, total, records.count) }
        let group = DispatchGroup()
        for (index, items) in work.enumerated() where !items.isEmpty {
            let target = targets[index]
            group.enter()
            NativeThread.start(name: "compare-\(index)") {
                for (entry, sample) in items {
                    let record = request(target: target, series: entry, sample: sample)
                    let (done, failed) = state.withLock { state in
                        state.records.append(record)
                        state.done += 1
                        if record.failure != nil { state.failed += 1 }
                        return (state.done, state.failed)
                    }
                    progress?(done, total, failed)
                }
                group.leave()
            }
        }
        group.wait()
        let order = Dictionary(uniqueKeysWithValues: samples.enumerated().map { ($1.id, $0) })
        let seriesOrder = Dictionary(uniqueKeysWithValues: series.enumerated().map { ($1.label, $0) })
        let sorted = state.withLock { $0.records }.sorted {
            (seriesOrder[$0.model] ?? 0, order[$0.sample] ?? 0) < (seriesOrder[$1.model] ?? 0, order[$1.sample] ?? 0)
        }
        return (sorted, facts)
    }

    static func request(target: CompareTarget, series: CompareSeries, sample: Sample) -> CompareRecord {
        do {
            let reply = try target.client.inferResult(model: series.model, inputs: sample.inputs, options: series.options)
            return CompareRecord(model: series.label, sample: sample.id, pod: target.name, result: reply.result,
                                 latencySeconds: reply.latencySeconds, serverTimings: reply.serverTimings, gpuMemoryMiB: reply.gpuMemoryMiB)
        } catch {
            return CompareRecord(model: series.label, sample: sample.id, pod: target.name, failure: error)
        }
    }

    /// Runs, builds the report and writes it; the report is written even when requests failed.
    public static func runAndWrite(samples: [Sample], series: [CompareSeries], targets: [CompareTarget], outDirectory: String,
                                   tool: String, progress: Progress? = nil) throws(CompareError) -> (report: CompareReport, json: String, html: String) {
        let (records, facts) = run(samples: samples, series: series, targets: targets, progress: progress)
        let report = ReportBuilder.build(records: records, models: series.map(\.label), samples: samples.map(\.id), facts: facts, tool: tool)
        let paths = try ReportWriter.write(report, to: outDirectory)
        return (report, paths.json, paths.html)
    }
}
