import ArgumentParser
import Controller

extension PodctlCommand {
    struct Health: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run `podagent health --json` on each pod and print a table; exit 1 if any pod is unhealthy or unreachable.")

        @OptionGroup var fleet: FleetArguments
        @OptionGroup var persistence: PersistArguments
        @Flag(help: "One JSON record per pod (with the agent's report).") var json = false

        func run() throws {
            let (options, pods) = try fleet.pods(persist: persistence)
            let outcome = HealthCommand.run(pods: pods, settings: options.settings, fanout: options.fanout, json: json)
            if outcome.status != 0 { throw ExitCode(outcome.status) }
        }
    }
}
