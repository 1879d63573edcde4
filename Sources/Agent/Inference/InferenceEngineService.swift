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
    let engine: InferenceEngine
    let checks: ModelCheckOutcomes

    /// - Parameter checks: what ``ModelChecksService`` found; each model starts once its outcome is `passed`.
    public init(engine: InferenceEngine, checks: ModelCheckOutcomes) {
        self.engine = engine
        self.checks = checks
    }

    public func run() async throws {
        let (engine, checks) = (self.engine, self.checks)
        let starting = Task {
            await engine.startEnabled { name in
                switch await checks.outcome(of: name) {
                case .passed: nil
                case .failed(let reason): "checks before inference failed: \(reason)"
                case nil: "podagent is shutting down"
                }
            }
        }
        try? await gracefulShutdown()
        // A start still loading is cut short: its workers are ended with the rest.
        starting.cancel()
        await starting.value
        await engine.shutdown()
    }
}
