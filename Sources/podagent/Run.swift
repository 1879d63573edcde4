import Agent
import ArgumentParser

extension PodAgentCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the agent and block until SIGTERM or SIGINT.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let code = await AgentLauncher.run(loader: options.loader)
            if code != 0 { throw ExitCode(code) }
        }
    }
}
