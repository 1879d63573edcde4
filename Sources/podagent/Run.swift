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

        /// `http.threads` from the config this command line names; the default when it does not parse
        /// (the run then reports the problem itself).
        /// `http.threads` from the configuration; the default when it cannot be read (`run` itself
        /// then reports why the configuration is bad).
        var configuredThreads: Int {
            (try? options.loader.load())?.http.threads ?? ThreadBudget.defaultThreads
        }

        func run() async throws {
            let code = try await AgentLauncher.run(loader: options.loader, command: command, keepRunning: keepRunning)
            if code != 0 { throw ExitCode(code) }
        }
    }
}
