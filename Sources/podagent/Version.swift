import Agent
import ArgumentParser

extension PodAgentCommand {
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print podagent's version.")

        func run() {
            print("podagent \(PodAgentVersion.current)")
        }
    }
}
