#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Plugins
import ServiceLifecycle

/// Runs ``ModelValidator`` once for each enabled model at start, publishes each outcome to
/// ``ModelCheckOutcomes`` (what the engine waits on), and reports it as the readiness part
/// `model:<name>`: not ready while checking, not ready with every problem when a check fails, and
/// still not ready when they pass (`validated`) until the engine reports the workers ready.
public struct ModelChecksService: Service {
    let catalog: ModelCatalog
    let validator: ModelValidator
    let checkpointsDir: String
    let readiness: ReadinessRegistry
    let outcomes: ModelCheckOutcomes
    let logger: Logger

    /// Reports every enabled model as not ready yet: nothing may count as ready before its checks ran.
    public init(
        catalog: ModelCatalog, validator: ModelValidator, checkpointsDir: String, readiness: ReadinessRegistry,
        outcomes: ModelCheckOutcomes, logger: Logger
    ) {
        self.catalog = catalog
        self.validator = validator
        self.checkpointsDir = checkpointsDir
        self.readiness = readiness
        self.outcomes = outcomes
        self.logger = logger
        for name in catalog.enabled {
            readiness.update(Self.partName(name), PartStatus(ready: false, state: "validating", reason: "checks before inference have not run yet"))
        }
    }

    /// The readiness part name of a model.
    public static func partName(_ model: String) -> String { "model:\(model)" }

    public func run() async throws {
        for name in catalog.enabled {
            readiness.update(Self.partName(name), PartStatus(ready: false, state: "validating", reason: "checks before inference are running"))
        }
        for name in catalog.enabled {
            guard let plugin = catalog.plugin(named: name) else {
                outcomes.publish(name, .failed("no plugin named \(name)"))
                continue
            }
            let problems = await validator.problems(manifest: plugin.manifest, checkpointsDir: checkpointsDir)
            let details = ["version": plugin.manifest.version, "commit": plugin.manifest.upstream.commit]
            if problems.isEmpty {
                // Not ready yet: the engine starts the workers now and reports loading, then ready. A
                // "validated" that counted as ready let /v2/health/ready answer 200 before the model loaded.
                readiness.update(
                    Self.partName(name),
                    PartStatus(ready: false, state: "validated", reason: "checks passed; starting the model's workers", details: details))
                outcomes.publish(name, .passed)
            } else {
                let reason = problems.joined(separator: "; ")
                logger.error("model \(name) failed its checks: \(reason)")
                readiness.update(Self.partName(name), PartStatus(ready: false, state: "invalid", reason: reason, details: details))
                outcomes.publish(name, .failed(reason))
            }
        }
        // Nothing more to do until shutdown; stay in the group so shutdown order is unchanged.
        try? await gracefulShutdown()
    }
}
