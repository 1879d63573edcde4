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

/// A request's `options`: what the agent reads itself, and the rest for the worker.
struct InferenceOptions: Sendable {
    var scoreThreshold: Double?
    var format: ExportFormat = .standard
    var includeRaw = false
    var timeout: Duration?
    /// The OpenLane-V2 submission's header, for `format: openlane`.
    var submissionInfo: OpenLaneSubmissionInfo?
    /// Every other option, as a JSON object, for the worker (e.g. the Demo model's `raw_format`).
    var worker: JSONValue = .object([])

    /// The agent's own option names.
    static let agentKeys: Set<String> = ["score_threshold", "format", "include_raw", "timeout_s", "submission_info"]

    /// Reads `options` (nil or an object).
    /// - Throws: ``AgentError`` `.invalidArgument` naming the option and what it must be.
    init(_ options: JSONValue?, key: String = "options") throws(AgentError) {
        guard let options, options != .null else { return }
        guard case .object(let members) = options else {
            throw AgentError(.invalidArgument, "\(key): expected a JSON object, got \(options.kind)")
        }
        var rest: [(String, JSONValue)] = []
        for (name, value) in members {
            switch name {
            case "score_threshold":
                guard let number = value.numberValue, number.isFinite else {
                    throw AgentError(.invalidArgument, "\(key).score_threshold: expected a finite number, got \(value.kind)")
                }
                scoreThreshold = number
            case "format":
                guard let text = value.stringValue, let format = ExportFormat(rawValue: text.lowercased()) else {
                    throw AgentError(.invalidArgument, "\(key).format: expected one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                self.format = format
            case "include_raw":
                guard case .bool(let flag) = value else {
                    throw AgentError(.invalidArgument, "\(key).include_raw: expected true or false, got \(value.kind)")
                }
                includeRaw = flag
            case "timeout_s":
                guard let seconds = value.numberValue, seconds.isFinite, seconds > 0, seconds <= 86_400 else {
                    throw AgentError(.invalidArgument, "\(key).timeout_s: expected a number of seconds above 0 (at most 86400)")
                }
                timeout = .milliseconds(Int64((seconds * 1000).rounded(.up)))
            case "submission_info":
                do {
                    submissionInfo = try OpenLaneSubmissionInfo.read(value, source: "\(key).submission_info")
                } catch {
                    throw AgentError(.invalidArgument, error.message)
                }
            default:
                rest.append((name, value))
            }
        }
        if submissionInfo != nil, format != .openlane {
            throw AgentError(.invalidArgument, "\(key).submission_info needs \(key).format openlane")
        }
        worker = .object(rest)
    }
}
