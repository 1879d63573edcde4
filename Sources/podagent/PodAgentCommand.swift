import Agent
import ArgumentParser

/// `podagent`: the in-pod agent.
struct PodAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podagent",
        abstract: "Runs a GPU inference pod: sshd, health, inference, model plugins.",
        version: PodAgentVersion.current,
        subcommands: [
            Run.self, Health.self, Version.self, PluginsList.self, Parse.self, Validate.self, GPU.self, Diagnose.self,
            CompareModels.self, Image.self,
        ]
    )
}
