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
import ServiceLifecycle

/// Starts the enabled models' workers once their checks before inference passed, and stops every
/// worker on graceful shutdown (queued requests are refused, running ones finish).
public struct InferenceEngineService: Service {
    let agent: PodAgent

    public init(agent: PodAgent) {
        self.agent = agent
    }

    public func run() async throws {
        let agent = self.agent
        let starting = Task {
            await agent.engine.startEnabled { name in await Self.checksOutcome(name, readiness: agent.readiness) }
        }
        try? await gracefulShutdown()
        // A start still loading is cut short: its workers are ended with the rest.
        starting.cancel()
        await starting.value
        await agent.engine.shutdown()
    }

    /// Waits until ModelChecksService has checked `model`; nil when its checks passed, else why not.
    static func checksOutcome(_ model: String, readiness: ReadinessRegistry) async -> String? {
        let part = ModelChecksService.partName(model)
        while !Task.isCancelled {
            guard let status = readiness.snapshot[part] else { return nil }
            switch status.state {
            case "validating": try? await Task.sleep(for: .milliseconds(100))
            case "invalid": return "checks before inference failed: \(status.reason ?? "see the log")"
            default: return nil
            }
        }
        return "podagent is shutting down"
    }
}
