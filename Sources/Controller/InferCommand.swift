import AgentAPI
import Compare
import Foundation
import Plugins
import PodAgentExtras

/// `podctl infer POD MODEL INPUT...`: one sample through the pod's agent, over an SSH tunnel.
public enum InferCommand {
    public enum Output: Sendable { case pretty, summary, json }

    /// Opens the tunnel, sends the request, prints the answer; returns the decoded reply (nil for an export format,
    /// which is printed as received; `--summary` then prints it whole).
    /// Errors from the agent become `CompareError`s (401 → 3, 404 → 4, 429/503 → 5, 504 → 6).
    public static func run(pod: Pod, settings: ConnectionSettings, model: String, sample: Sample,
                           options: [String: JSONValue], token: AgentToken?, timeout: Double, output: Output,
                           out: OutputWriter = .stdout) throws(CompareError) -> InferReply? {
        let tunnel: AgentTunnel
        do { tunnel = try AgentTunnel.open(pod: pod, settings: settings) } catch {
            throw CompareError(.transport, error.message)
        }
        defer { tunnel.close() }
        let client = tunnel.client(token: token, timeout: .seconds(clamping: timeout))
        // An export format (nuscenes, nuscmap, openlane) is not a standard result: print it as received.
        if case .string(let format)? = options["format"], format != "standard" {
            let reply: InferAnswer
            do { reply = try client.inferAsReceived(model: model, inputs: sample.inputs, options: options) } catch {
                throw CompareError(error.code, "\(pod.name): \(error.message)")
            }
            out.write(output == .json ? String(decoding: reply.body, as: UTF8.self) + "\n" : pretty(reply.body) + "\n")
            return nil
        }
        let reply: InferReply
        do {
            reply = try client.inferResult(model: model, inputs: sample.inputs, options: options)
        } catch {
            throw CompareError(error.code, "\(pod.name): \(error.message)")
        }
        switch output {
        case .json: out.write(String(decoding: reply.body, as: UTF8.self) + "\n")
        case .pretty: out.write(pretty(reply.body) + "\n")
        case .summary: out.write(summary(reply))
        }
        return reply
    }

    static func pretty(_ body: Data) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: body),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return String(decoding: body, as: UTF8.self) }
        return String(decoding: data, as: UTF8.self)
    }

    /// A few lines: the model and sample, timings, then items per section and class.
    public static func summary(_ reply: InferReply) -> String {
        let meta = reply.result.meta
        var lines = ["model: \(meta.model) (plugin \(meta.pluginVersion)), sample: \(meta.sampleID ?? "-")"]
        var timing = String(format: "latency: %.1f ms", reply.latencySeconds * 1000)
        for key in reply.serverTimings.keys.sorted() { timing += String(format: ", %@ %.1f ms", key, (reply.serverTimings[key] ?? 0) * 1000) }
        if let memory = reply.gpuMemoryMiB { timing += String(format: ", GPU memory %.0f MiB", memory) }
        lines.append(timing)
        var rows = [["SECTION", "CLASS", "COUNT", "TOP SCORE"]]
        func add(_ section: String, _ items: [(String, Double)]) {
            let grouped = Dictionary(grouping: items, by: \.0)
            if grouped.isEmpty { rows.append([section, "-", "0", "-"]) }
            for (label, members) in grouped.sorted(by: { $0.key < $1.key }) {
                rows.append([section, label, String(members.count), String(format: "%.2f", members.map(\.1).max() ?? 0)])
            }
        }
        let result = reply.result
        if let items = result.detections { add("detections", items.map { ($0.label, $0.score) }) }
        if let items = result.mapElements { add("map_elements", items.map { ($0.label, $0.score) }) }
        if let items = result.laneCenterlines { add("lane_centerlines", items.map { ("lane", $0.score) }) }
        if let items = result.trafficElements { add("traffic_elements", items.map { ($0.attribute, $0.score) }) }
        if let plan = result.egoPlan { rows.append(["ego_plan", plan.command, String(plan.trajectoryLidar.count) + " steps", "-"]) }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        if !meta.warnings.isEmpty { lines.append("warnings: " + meta.warnings.joined(separator: " ")) }
        return lines.joined(separator: "\n") + "\n"
    }
}
