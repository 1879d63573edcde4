#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Plugins
import ServiceLifecycle

/// Runs ``ModelValidator`` once for each enabled model at start and reports each as the readiness
/// part `model:<name>`: not ready while checking, not ready with every problem when a check fails,
/// and still not ready when they pass (`validated`) until the engine reports the workers ready.
public struct ModelChecksService: Service {
    let agent: PodAgent

    public init(agent: PodAgent) {
        self.agent = agent
    }

    /// The readiness part name of a model.
    public static func partName(_ model: String) -> String { "model:\(model)" }

    public func run() async throws {
        let catalog = agent.models
        for name in catalog.enabled {
            agent.readiness.update(Self.partName(name), PartStatus(ready: false, state: "validating", reason: "checks before inference are running"))
        }
        let validator = ModelValidator(
            runner: CommandRunner(supervisor: agent.supervisor), pluginsDir: agent.config.pluginsDir,
            workerIdentity: try? agent.engine.settings.workerUser.identity())
        for name in catalog.enabled {
            guard let plugin = catalog.plugin(named: name) else { continue }
            let problems = await validator.problems(manifest: plugin.manifest, checkpointsDir: agent.config.checkpointsDir)
            let details = ["version": plugin.manifest.version, "commit": plugin.manifest.upstream.commit]
            if problems.isEmpty {
                // Not ready yet: the engine starts the workers now and reports loading, then ready. A
                // "validated" that counted as ready let /v2/health/ready answer 200 before the model loaded.
                agent.readiness.update(
                    Self.partName(name),
                    PartStatus(ready: false, state: "validated", reason: "checks passed; starting the model's workers", details: details))
            } else {
                agent.logger.error("model \(name) failed its checks: \(problems.joined(separator: "; "))")
                agent.readiness.update(Self.partName(name), PartStatus(ready: false, state: "invalid", reason: problems.joined(separator: "; "), details: details))
            }
        }
        // Nothing more to do until shutdown; stay in the group so shutdown order is unchanged.
        try? await gracefulShutdown()
    }
}
