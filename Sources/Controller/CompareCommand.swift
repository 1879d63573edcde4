import AgentAPI
import Compare
import Foundation
import PodAgentExtras

/// `podctl compare`: a tunnel per pod, the models each serves, then the shared runner.
public enum CompareCommand {
    /// Returns the report and its paths; throws only when nothing could be compared at all or writing failed.
    public static func run(pods: [Pod], settings: ConnectionSettings, series: [CompareSeries], samples: [Sample],
                           tokenFile: String?, environment: [String: String], timeout: Double, outDirectory: String,
                           progress: CompareRunner.Progress? = nil, warn: (String) -> Void) throws(CompareError)
        -> (report: CompareReport, json: String, html: String) {
        var tunnels: [AgentTunnel] = []
        defer { for tunnel in tunnels { tunnel.close() } }
        var targets: [CompareTarget] = []
        for pod in pods {
            do {
                let token = try AgentToken.resolve(flagFile: tokenFile, environment: environment, configuredFile: pod.tokenFile, rule: .podctl)
                let tunnel = try AgentTunnel.open(pod: pod, settings: settings)
                tunnels.append(tunnel)
                let client = tunnel.client(token: token, timeout: .seconds(clamping: timeout))
                let served = try client.servedModels()
                targets.append(CompareTarget(name: pod.name, client: client, served: served))
            } catch let error as any CommandLineError {
                warn("\(pod.name): skipped: \(error.message)")
            } catch {
                warn("\(pod.name): skipped: \(error)")
            }
        }
        return try CompareRunner.runAndWrite(samples: samples, series: series, targets: targets, outDirectory: outDirectory,
                                             tool: "podctl", progress: progress)
    }
}
