import AgentAPI
import Foundation
import Plugins

/// One pod's line in `podctl health`, read from `podagent health --json` run on the pod.
public struct HealthRow: Sendable, Equatable {
    public var pod: String
    /// Nil when the agent's report could not be had (unreachable, no agent, bad JSON).
    public var ready: Bool?
    public var sshd: String
    public var gpuUtilization: String
    public var gpuMemory: String
    public var models: String
    public var version: String
    public var problem: String?

    public var healthy: Bool { ready == true && problem == nil }

    public init(pod: String, ready: Bool?, sshd: String, gpuUtilization: String, gpuMemory: String, models: String,
                version: String, problem: String?) {
        self.pod = pod
        self.ready = ready
        self.sshd = sshd
        self.gpuUtilization = gpuUtilization
        self.gpuMemory = gpuMemory
        self.models = models
        self.version = version
        self.problem = problem
    }

    /// Reads what `podagent health --json` printed on the pod: the agent's ``HealthReport``, or
    /// `{"error": ..., "healthy": false}` when the agent did not answer (or refused the check).
    /// Model parts are the `parts` entries whose names start with "model".
    public static func from(_ result: PodResult) -> HealthRow {
        var row = HealthRow(pod: result.pod.name, ready: nil, sshd: "-", gpuUtilization: "-", gpuMemory: "-",
                            models: "-", version: "-", problem: nil)
        guard result.status == .ok || result.status == .failed else {
            row.problem = "\(result.status.rawValue): \(result.errorMessage ?? "")"
            return row
        }
        let output = Data(result.stdout)
        let report: HealthReport
        do {
            report = try AgentJSON.decode(HealthReport.self, from: output, what: HealthCommand.remoteCommand)
        } catch {
            if let failure = try? AgentJSON.decoder().decode(ErrorBody.self, from: output) {
                row.ready = false
                row.problem = "agent not answering: \(failure.error)"
                return row
            }
            let stderr = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let why = output.isEmpty ? (stderr.isEmpty ? "" : ": \(stderr.prefix(200))") : ": \(error.message.prefix(300))"
            row.problem = "no health report from podagent (exit \(result.exitCode.map(String.init) ?? "?"))\(why)"
            return row
        }
        row.ready = report.ready
        if !report.ready, !report.reasons.isEmpty { row.problem = report.reasons.joined(separator: "; ") }
        row.version = report.agent.version
        if let sshd = report.parts["sshd"] { row.sshd = sshd.state }
        let models = report.parts.filter { $0.key.hasPrefix("model") }
        if !models.isEmpty { row.models = "\(models.values.filter(\.ready).count)/\(models.count)" }
        let devices = report.gpu.devices
        if devices.isEmpty {
            row.gpuUtilization = report.gpu.available ? "0 GPUs" : "no GPU"
        } else {
            row.gpuUtilization = devices.map { $0.utilization_percent.map { "\(Int($0))%" } ?? "?" }.joined(separator: ",")
            row.gpuMemory = devices.map { device in
                let used = device.memory_used_mib.map { String(Int($0)) } ?? "?"
                let total = device.memory_total_mib.map { String(Int($0)) } ?? "?"
                return "\(used)/\(total)MiB"
            }.joined(separator: ",")
        }
        return row
    }
}

/// `podctl health`: the table (or JSON) and the exit status.
public enum HealthCommand {
    public static let remoteCommand = "podagent health --json"

    /// `command` is the agent's CLI on the pod; overridable so a test can point at a stand-in script.
    public static func run(pods: [Pod], settings: ConnectionSettings, fanout: Int, json: Bool,
                           out: OutputWriter = .stdout, command: String = remoteCommand) -> (rows: [HealthRow], status: Int32) {
        let results = ExecRunner.run(pods: pods, request: ExecRequest(command: command, timeout: 30, fanout: fanout),
                                     settings: settings)
        let rows = results.map(HealthRow.from)
        if json {
            for (row, result) in zip(rows, results) { out.write(record(row, output: result.stdout) + "\n") }
        } else {
            out.write(table(rows))
        }
        return (rows, rows.allSatisfy(\.healthy) ? 0 : 1)
    }

    /// One `--json` line: `{"healthy", "pod", "problem", "report"}`, the report as the pod printed it
    /// (the agent's report, or the error; null when it printed no JSON).
    static func record(_ row: HealthRow, output: [UInt8]) -> String {
        func line(_ report: JSONValue) -> String? {
            let record = JSONValue.object([
                ("healthy", .bool(row.healthy)), ("pod", .string(row.pod)), ("problem", row.problem.map(JSONValue.string) ?? .null),
                ("report", report),
            ])
            return (try? JSONWriter.write(record)).map { String(decoding: $0, as: UTF8.self) }
        }
        // A report JSON cannot carry (a NaN from a hostile pod) is left out rather than the pod's line.
        return line((try? JSONReader.parse(output, source: remoteCommand)) ?? .null) ?? line(.null) ?? ""
    }

    public static func table(_ rows: [HealthRow]) -> String {
        let header = ["POD", "READY", "SSHD", "GPU UTIL", "GPU MEM", "MODELS", "AGENT", "PROBLEM"]
        let lines = [header] + rows.map {
            [$0.pod, $0.ready.map { $0 ? "yes" : "no" } ?? "-", $0.sshd, $0.gpuUtilization, $0.gpuMemory, $0.models,
             $0.version, $0.problem ?? ""]
        }
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { line in
            line.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
