import Agent
import ArgumentParser

extension PodAgentCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the agent and block until SIGTERM or SIGINT.",
            discussion: """
                As the container's entrypoint: `podagent run -- CMD ARGS...` also runs the image's own command \
                as a supervised child; its exit code becomes podagent's unless --keep-running is given.
                """,
            aliases: ["serve"])

        @OptionGroup var options: ConfigOptions

        @Flag(name: .customLong("keep-running"), help: "Keep running after the command exits.")
        var keepRunning = false

        @Argument(parsing: .postTerminator, help: "The image's own command and its arguments, after --.")
        var command: [String] = []

        func run() async throws {
            try await run(config: options.loader.load())
        }

        /// Runs the agent with the configuration `options.loader` has already loaded (podagent's
        /// `Entry` loads it once, before the event loops it sizes exist).
        func run(config: AgentConfig) async throws {
            let code = try await AgentLauncher.run(
                config: config, loader: options.loader, command: command, keepRunning: keepRunning)
            if code != 0 { throw ExitCode(code) }
        }
    }
}
