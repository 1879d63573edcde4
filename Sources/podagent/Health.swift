import Agent
import ArgumentParser
import Foundation

extension PodAgentCommand {
    struct Health: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the running agent how it is; exit 0 when healthy, 1 when not.")

        @Flag(help: "Print the agent's JSON report.") var json = false
        @Option(help: "The agent's base URL (default: PODAGENT_URL, else http://127.0.0.1:<http.port>).") var url: String?
        @Flag(help: "Only check liveness (/v2/health/live).") var live = false
        @Flag(help: "Only check readiness (/v2/health/ready).") var ready = false
        @Option(help: "Seconds to wait for the agent.") var timeout: Double = 5
        @OptionGroup var options: ConfigOptions

        func validate() throws {
            if live && ready { throw ValidationError("--live and --ready exclude each other") }
            if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
        }

        func run() throws {
            let base: String
            if let url {
                base = url
            } else if let fromEnvironment = ProcessInfo.processInfo.environment["PODAGENT_URL"] {
                base = fromEnvironment
            } else {
                do {
                    base = "http://127.0.0.1:\(try options.loader.load().http.port)"
                } catch {
                    StandardStream.writeError("podagent: error: \(error.message)\n")
                    throw ExitCode(error.exitCode)
                }
            }
            let check: HealthCheck.Kind = live ? .live : ready ? .ready : .report
            let outcome = HealthCheck(baseURL: base, timeout: .milliseconds(Int64(timeout * 1000))).run(check)
            print(json ? outcome.json : outcome.summary)
            if !outcome.healthy { throw ExitCode(1) }
        }
    }
}
