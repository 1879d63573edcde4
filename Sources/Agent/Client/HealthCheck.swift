import Foundation

/// `podagent health`: asks a running agent and turns the answer into an exit status and a summary.
public struct HealthCheck: Sendable {
    public enum Kind: Sendable { case live, ready, report }

    /// The answer: healthy or not, a one-screen summary and the JSON to print with `--json`.
    public struct Outcome: Sendable {
        public var healthy: Bool
        public var summary: String
        public var json: String
    }

    public var baseURL: String
    public var timeout: Duration

    public init(baseURL: String, timeout: Duration) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeout = timeout
    }

    public func run(_ kind: Kind) -> Outcome {
        let path = switch kind {
        case .live: "/v2/health/live"
        case .ready: "/v2/health/ready"
        case .report: "/health"
        }
        let token = ProcessInfo.processInfo.environment["PODAGENT_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let response: LocalHTTPClient.Response
        do {
            response = try LocalHTTPClient(timeout: timeout, bearerToken: token).get(baseURL + path)
        } catch {
            let body = (try? JSONSerialization.data(withJSONObject: ["healthy": false, "error": error.message], options: [.sortedKeys])) ?? Data()
            return Outcome(healthy: false, summary: "unhealthy: \(error.message)", json: String(decoding: body, as: UTF8.self))
        }
        let json = String(decoding: response.body, as: UTF8.self)
        switch kind {
        case .live, .ready:
            let healthy = response.status == 200
            return Outcome(healthy: healthy, summary: "\(healthy ? "ok" : "unhealthy"): HTTP \(response.status) \(json)", json: json)
        case .report:
            guard response.status == 200, let report = try? JSONDecoder().decode(HealthReport.self, from: response.body) else {
                return Outcome(healthy: false, summary: "unhealthy: HTTP \(response.status) \(json)", json: json)
            }
            return Outcome(healthy: report.ready, summary: Self.summary(report), json: json)
        }
    }

    static func summary(_ report: HealthReport) -> String {
        var lines = ["podagent \(report.agent.version): \(report.ready ? "ready" : "NOT READY"), up \(Int(report.agent.uptime_s)) s, state in \(report.agent.state_dir)"]
        lines += report.reasons.map { "  not ready: \($0)" }
        for (name, part) in report.parts.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name): \(part.state)\(part.reason.map { " (\($0))" } ?? "")")
        }
        if report.gpu.available {
            for device in report.gpu.devices {
                let used = device.memory_used_mib.map { String(Int($0)) } ?? "?"
                let total = device.memory_total_mib.map { String(Int($0)) } ?? "?"
                let utilization = device.utilization_percent.map { "\(Int($0))%" } ?? "?"
                lines.append("  gpu \(device.index) \(device.name): \(used)/\(total) MiB, \(utilization) busy, \(device.processes.count) processes")
            }
        } else {
            lines.append("  gpu: none (\(report.gpu.reason ?? "unknown"))")
        }
        return lines.joined(separator: "\n")
    }
}
