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
import Plugins
import PodAgentExtras

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
        for entry in models.split(separator: ",").map({ $0.trimmingSpace(newlines: false) }) where !entry.isEmpty {
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
