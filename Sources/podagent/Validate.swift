import Agent
import ArgumentParser
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
import Logging
import Plugins

extension PodAgentCommand {
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a model's config and checkpoint against its plugin; print every problem, exit 1 if any.")

        @Option(help: "The model (a manifest name).") var model: String
        @Option(name: .customLong("config"), help: "The model's Python config (default: the manifest's path).") var modelConfig: String?
        @Option(help: "The checkpoint (default: <checkpoints_dir>/<the manifest's file>).") var checkpoint: String?
        @Option(name: .customLong("agent-config"), help: "podagent's YAML config file (--config names the model's config here).") var agentConfig: String?
        @Option(name: .customLong("plugins-dir"), help: "Model plugins directory (plugins_dir).") var pluginsDir: String?
        @Option(name: .customLong("checkpoints-dir"), help: "Checkpoints directory (checkpoints_dir).") var checkpointsDir: String?

        var loader: ConfigLoader {
            var flags: [String: ConfigValue] = [:]
            if let pluginsDir { flags["plugins_dir"] = .scalar(pluginsDir) }
            if let checkpointsDir { flags["checkpoints_dir"] = .scalar(checkpointsDir) }
            return ConfigLoader(file: agentConfig, flags: flags)
        }

        func run() async throws {
            let config = try loader.load()
            let catalog = try ModelCatalog.load(config: config)
            guard let plugin = catalog.plugin(named: model) else {
                throw AgentError(.invalidArgument, ModelCatalog.unknownModelMessage(model, known: catalog.plugins, pluginsDir: config.pluginsDir))
            }
            let supervisor = Supervisor.forCommand("validate")
            let logger = Logger(label: "podagent.validate")
            let workerUser = WorkerUser(configured: config.inference.user, sshUser: config.ssh.user, logger: logger)
            let validator = ModelValidator(
                runner: CommandRunner(supervisor: supervisor), pluginsDir: config.pluginsDir, python: config.inference.python ?? "python3",
                workerIdentity: try? workerUser.identity())
            var problems = await validator.problems(
                manifest: plugin.manifest, config: modelConfig, checkpoint: checkpoint, checkpointsDir: config.checkpointsDir)
            // The same GPU check the worker makes before it loads.
            let gpu = await validator.gpuReport(manifest: plugin.manifest)
            problems += gpu.problems
            for note in gpu.notes { print("\(plugin.manifest.name): \(note)") }
            if problems.isEmpty, plugin.manifest.isSynthetic {
                print("\(plugin.manifest.name): synthetic model: no config or checkpoint to check")
                return
            }
            if problems.isEmpty {
                print("\(plugin.manifest.name): config and checkpoint agree with the plugin")
                return
            }
            for problem in problems { print("\(plugin.manifest.name): \(problem)") }
            throw ExitCode(1)
        }
    }
}
