#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `podagent health` (and so Docker's HEALTHCHECK and `podctl health`, which runs it on each pod):
/// asks a running agent and turns the answer into healthy or not, a one-screen summary and the JSON.
public struct HealthCheck: Sendable {
    /// What to ask: liveness, readiness, or the detailed report (the default).
    public enum Kind: Sendable { case live, ready, report }

    /// The answer: healthy or not, a summary for people and the JSON `--json` prints (the agent's
    /// body as received, or `{"error": ..., "healthy": false}` when nothing usable came back).
    public struct Outcome: Sendable {
        public var healthy: Bool
        public var summary: String
        public var json: String
    }

    public var client: AgentClient

    public init(client: AgentClient) { self.client = client }

    public func run(_ kind: Kind) -> Outcome {
        let path = switch kind {
        case .live: "/v2/health/live"
        case .ready: "/v2/health/ready"
        case .report: "/health"
        }
        let response: AgentResponse
        do {
            response = try client.send("GET", path, timeout: client.timeout)
        } catch {
            return Self.failed(error.message)
        }
        let json = String(decoding: response.body, as: UTF8.self)
        switch kind {
        case .live, .ready:
            let healthy = response.status == 200
            return Outcome(healthy: healthy, summary: "\(healthy ? "ok" : "unhealthy"): HTTP \(response.status) \(json)", json: json)
        case .report:
            guard response.status == 200 else {
                return Outcome(healthy: false, summary: "unhealthy: HTTP \(response.status) \(json)", json: json)
            }
            do {
                let report = try AgentJSON.decode(HealthReport.self, from: response.body, what: "GET /health")
                return Outcome(healthy: report.ready, summary: Self.summary(report), json: json)
            } catch {
                return Outcome(healthy: false, summary: "unhealthy: \(error.message)", json: json)
            }
        }
    }

    /// No answer to show: `{"error": ..., "healthy": false}`, which `podctl health` reads as "agent not answering".
    static func failed(_ message: String) -> Outcome {
        struct Failure: Encodable { var error: String, healthy = false }
        let json = (try? AgentJSON.encoder().encode(Failure(error: message))).map { String(decoding: $0, as: UTF8.self) }
            ?? #"{"healthy":false}"#
        return Outcome(healthy: false, summary: "unhealthy: \(message)", json: json)
    }

    /// The report on one screen: version, readiness, each part, each GPU.
    public static func summary(_ report: HealthReport) -> String {
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
