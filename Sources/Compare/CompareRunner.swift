import AgentAPI
import Foundation
import Plugins
import Synchronization

/// One column of the comparison: a model, optionally pinned to one target, with its own request options.
///
/// Written `[LABEL=]MODEL[@TARGET]`: `PETR`, `Demo@pod02`, `vad=Demo@pod03`. The label (default `MODEL`, or
/// `MODEL@TARGET` when pinned) names the column in the report, so one model on two pods can be compared.
public struct CompareSeries: Sendable, Equatable {
    public var label: String
    public var model: String
    public var target: String?
    public var options: [String: JSONValue]

    public init(label: String, model: String, target: String? = nil, options: [String: JSONValue] = [:]) {
        self.label = label
        self.model = model
        self.target = target
        self.options = options
    }

    /// Parses `--models` and `--option [LABEL:]KEY=VALUE` (values are JSON when they parse as JSON, else strings).
    public static func parse(models: String, options: [String]) throws(CompareError) -> [CompareSeries] {
        var series: [CompareSeries] = []
        for entry in models.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            var rest = entry
            var label: String?
            if let equals = rest.firstIndex(of: "=") {
                label = String(rest[..<equals])
                rest = String(rest[rest.index(after: equals)...])
            }
            var target: String?
            if let at = rest.firstIndex(of: "@") {
                target = String(rest[rest.index(after: at)...])
                rest = String(rest[..<at])
            }
            guard !rest.isEmpty, label?.isEmpty != true, target?.isEmpty != true else {
                throw CompareError(.usage, "--models: '\(entry)' is not [LABEL=]MODEL[@TARGET]")
            }
            let name = label ?? (target.map { "\(rest)@\($0)" } ?? rest)
            if series.contains(where: { $0.label == name }) {
                throw CompareError(.usage, "--models: '\(name)' is given twice; name the columns apart with LABEL=MODEL")
            }
            series.append(CompareSeries(label: name, model: rest, target: target))
        }
        guard !series.isEmpty else { throw CompareError(.usage, "--models: give at least one model") }
        for option in options {
            let (key, value) = try parseOption(option)
            if let colon = key.firstIndex(of: ":") {
                let label = String(key[..<colon]), name = String(key[key.index(after: colon)...])
                guard let index = series.firstIndex(where: { $0.label == label }) else {
                    throw CompareError(.usage, "--option \(option): no model column is called '\(label)' (columns: \(series.map(\.label).joined(separator: ", ")))")
                }
                series[index].options[name] = value
            } else {
                for index in series.indices where series[index].options[key] == nil { series[index].options[key] = value }
            }
        }
        return series
    }

    /// `KEY=VALUE`, the value read as JSON when it is JSON (`0.3`, `true`, `{"a":1}`), else as a string.
    public static func parseOption(_ text: String) throws(CompareError) -> (String, JSONValue) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw CompareError(.usage, "--option '\(text)': expected KEY=VALUE")
        }
        let key = String(text[..<equals]), raw = String(text[text.index(after: equals)...])
        if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8)) { return (key, value) }
        return (key, .string(raw))
    }
}

/// An agent the run can use: its name (pod name or URL), a client, and the models it lists.
public struct CompareTarget: Sendable {
    public var name: String
    public var client: AgentClient
    public var served: [ModelStatus]

    public init(name: String, client: AgentClient, served: [ModelStatus]) {
        self.name = name
        self.client = client
        self.served = served
    }
}

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
            let thread = Thread {
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
            thread.start()
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
