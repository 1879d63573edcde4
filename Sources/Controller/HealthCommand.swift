import Foundation

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

    /// Reads the agent's report (HealthReport's JSON: agent, ready, gpu.devices, parts).
    /// Model parts are the `parts` entries whose names start with "model".
    public static func from(_ result: PodResult) -> HealthRow {
        var row = HealthRow(pod: result.pod.name, ready: nil, sshd: "-", gpuUtilization: "-", gpuMemory: "-",
                            models: "-", version: "-", problem: nil)
        guard result.status == .ok || result.status == .failed else {
            row.problem = "\(result.status.rawValue): \(result.errorMessage ?? "")"
            return row
        }
        guard let report = try? JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any] else {
            let stderr = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            row.problem = "no health report from podagent (exit \(result.exitCode.map(String.init) ?? "?"))"
                + (stderr.isEmpty ? "" : ": \(stderr.prefix(200))")
            return row
        }
        // `podagent health --json` answers {"healthy": false, "error": ...} when its agent does not answer.
        if let error = report["error"] as? String {
            row.ready = false
            row.problem = "agent not answering: \(error)"
            return row
        }
        row.ready = report["ready"] as? Bool
        if row.ready == nil { row.problem = "report has no 'ready'" }
        if row.ready == false, let reasons = report["reasons"] as? [String], !reasons.isEmpty {
            row.problem = reasons.joined(separator: "; ")
        }
        if let agent = report["agent"] as? [String: Any], let version = agent["version"] as? String { row.version = version }
        let parts = report["parts"] as? [String: [String: Any]] ?? [:]
        if let sshd = parts["sshd"] {
            row.sshd = (sshd["state"] as? String) ?? ((sshd["ready"] as? Bool) == true ? "ready" : "not ready")
        }
        let models = parts.filter { $0.key.hasPrefix("model") }
        if !models.isEmpty {
            row.models = "\(models.values.filter { ($0["ready"] as? Bool) == true }.count)/\(models.count)"
        }
        if let gpu = report["gpu"] as? [String: Any] {
            let devices = gpu["devices"] as? [[String: Any]] ?? []
            if devices.isEmpty {
                row.gpuUtilization = (gpu["available"] as? Bool) == true ? "0 GPUs" : "no GPU"
            } else {
                row.gpuUtilization = devices.map { ($0["utilization_percent"] as? Double).map { "\(Int($0))%" } ?? "?" }
                    .joined(separator: ",")
                row.gpuMemory = devices.map { device in
                    let used = (device["memory_used_mib"] as? Double).map { String(Int($0)) } ?? "?"
                    let total = (device["memory_total_mib"] as? Double).map { String(Int($0)) } ?? "?"
                    return "\(used)/\(total)MiB"
                }.joined(separator: ",")
            }
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
            for (row, result) in zip(rows, results) {
                var record: [String: Any] = ["pod": row.pod, "healthy": row.healthy, "problem": row.problem ?? NSNull()]
                record["report"] = (try? JSONSerialization.jsonObject(with: Data(result.stdout))) ?? NSNull()
                if let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) {
                    out.write(String(decoding: data, as: UTF8.self) + "\n")
                }
            }
        } else {
            out.write(table(rows))
        }
        return (rows, rows.allSatisfy(\.healthy) ? 0 : 1)
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
