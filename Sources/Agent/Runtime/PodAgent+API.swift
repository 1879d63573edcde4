#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension PodAgent {
    /// Where the HTTP API listens: the configured host with a token, 127.0.0.1 without one
    /// (an API nobody authenticates to is reachable only from inside the pod or an SSH tunnel).
    public var bindHost: String {
        apiToken == nil ? "127.0.0.1" : config.http.host
    }

    /// Says once, at start, how the API is protected (never the token itself).
    func logAPIProtection() {
        if apiToken == nil {
            let note = config.http.host == "127.0.0.1" ? "" : " instead of \(config.http.host)"
            logger.notice("no API token (PODAGENT_TOKEN or api.token_file): the API listens on 127.0.0.1 only\(note); reach it through an SSH tunnel")
        } else {
            logger.info("the API requires a bearer token", metadata: ["metrics_public": "\(config.api.metricsPublic)"])
        }
    }

    /// The inference service, or 503 when inference is not enabled.
    func requireInference() throws(AgentError) -> InferenceService {
        guard let inference else { throw AgentError(.notReady, "inference is not enabled") }
        return inference
    }

    /// The job runner, or 503 when inference is not enabled.
    func requireJobs() throws(AgentError) -> JobRunner {
        guard let jobs else { throw AgentError(.notReady, "inference is not enabled") }
        return jobs
    }
}
