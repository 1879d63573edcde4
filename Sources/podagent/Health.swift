import Agent
import AgentAPI
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
import PodAgentExtras

extension PodAgentCommand {
    struct Health: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the running agent how it is; exit 0 when healthy, 1 when not.",
            discussion: "Token: --token-file, else PODAGENT_TOKEN, else api.token_file (PODAGENT_TOKEN_FILE): the one the agent reads.")

        @Flag(help: "Print the agent's JSON report.") var json = false
        @Option(help: "The agent's base URL (default: PODAGENT_URL, else http://127.0.0.1:<http.port>).") var url: String?
        @Flag(help: "Only check liveness (/v2/health/live).") var live = false
        @Flag(help: "Only check readiness (/v2/health/ready).") var ready = false
        @Option(help: "Seconds to wait for the agent.") var timeout: Double = 5
        @Option(name: .customLong("token-file"), help: "File holding the API token.") var tokenFile: String?
        @OptionGroup var options: ConfigOptions

        func validate() throws {
            if live && ready { throw ValidationError("--live and --ready exclude each other") }
            if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
        }

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            // The configuration is read only when the URL or the token must come from it, so
            // `--url` with PODAGENT_TOKEN works whatever the config file says.
            var loaded: AgentConfig?
            func config() throws(AgentError) -> AgentConfig {
                if let loaded { return loaded }
                let config = try options.loader.load()
                loaded = config
                return config
            }
            let base = try url ?? environment["PODAGENT_URL"] ?? "http://127.0.0.1:\(config().http.port)"
            let needsFile = tokenFile == nil && environment[AgentToken.Rule.podagent.variable] == nil
            let token = try AgentToken.resolve(flagFile: tokenFile, environment: environment,
                                               configuredFile: needsFile ? try config().api.tokenFile : nil, rule: .podagent)
            let client = AgentClient(transport: try SocketTransport(baseURL: base), token: token, tokenRule: .podagent,
                                     timeout: .seconds(clamping: timeout))
            let outcome = HealthCheck(client: client).run(live ? .live : ready ? .ready : .report)
            print(json ? outcome.json : outcome.summary)
            if !outcome.healthy { throw ExitCode(1) }
        }
    }
}
