import Agent
import AgentAPI
import ArgumentParser
import Compare
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
    struct CompareModels: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare",
            abstract: "Run the same samples through several models on this pod's agent (HTTP, no SSH); write report.json and report.html.",
            discussion: """
                --models takes [LABEL=]MODEL[@URL] entries; --option [LABEL:]KEY=VALUE sets request options. \
                Token: --token-file, else PODAGENT_TOKEN, else api.token_file (PODAGENT_TOKEN_FILE). \
                The report is written even when some requests fail (exit 1 then); see docs/compare.md.
                """)

        @Option(help: "Models to compare, comma-separated: [LABEL=]MODEL[@URL].") var models: String
        @Option(help: "A sample description JSON file (one object or a list) or a folder of *.json files.") var inputs: String
        @Option(help: "The agent's base URL; repeatable (each is asked which models it serves).") var url: [String] = []
        @Option(help: "Folder for report.json and report.html.") var out = "compare-report"
        @Option(name: .customLong("option"), help: "[LABEL:]KEY=VALUE request option; repeatable.") var options: [String] = []
        @Option(name: .customLong("token-file"), help: "File holding the API token.") var tokenFile: String?
        @Option(help: "Seconds to wait for each answer.") var timeout: Double = 300

        func run() throws {
            let terminal = isatty(2) == 1
            var progress: CompareRunner.Progress?
            if terminal {
                progress = { done, total, failed in
                    StandardStream.writeError("\r\u{1B}[K[\(done)/\(total) requests, \(failed) failed]")
                }
            }
            let outcome: (report: CompareReport, json: String, html: String)
            do {
                let series = try CompareSeries.parse(models: models, options: options)
                let samples = try SampleLoader.load(inputs)
                let token = try Self.token(file: tokenFile, environment: ProcessInfo.processInfo.environment)
                var targets: [CompareTarget] = []
                for base in url.isEmpty ? ["http://127.0.0.1:8080"] : url {
                    let client = AgentClient(transport: try SocketTransport(baseURL: base), token: token, tokenRule: .podagent,
                                             timeout: .seconds(clamping: timeout))
                    do {
                        targets.append(CompareTarget(name: base, client: client, served: try client.servedModels()))
                    } catch {
                        StandardStream.writeError("podagent: \(base): skipped: \(error.message)\n")
                    }
                }
                outcome = try CompareRunner.runAndWrite(samples: samples, series: series, targets: targets, outDirectory: out,
                                                        tool: "podagent", progress: progress)
            } catch {
                if terminal { StandardStream.writeError("\r\u{1B}[K") }
                throw error
            }
            if terminal { StandardStream.writeError("\r\u{1B}[K") }
            for row in outcome.report.perModel {
                let p50 = row.latencyS.map { "p50 \(decimalText($0.p50 * 1000, decimals: 1)) ms" } ?? "no successful request"
                print("\(row.model): \(row.succeeded)/\(row.requests) ok, \(p50)")
            }
            for failure in outcome.report.failures.prefix(20) {
                StandardStream.writeError("podagent: failed: \(failure.model) on \(failure.sample) (\(failure.pod)): \(failure.kind): \(failure.message)\n")
            }
            print("wrote \(outcome.json) and \(outcome.html)")
            if !outcome.report.failures.isEmpty { throw ExitCode(1) }
        }

        /// The agent's token by podagent's rule; the configuration is read only when the flag and
        /// PODAGENT_TOKEN leave the token file to it.
        static func token(file: String?, environment: [String: String]) throws -> AgentToken? {
            let configured = file == nil && environment[AgentToken.Rule.podagent.variable] == nil
                ? try ConfigLoader(file: nil, flags: [:]).load().api.tokenFile : nil
            return try AgentToken.resolve(flagFile: file, environment: environment, configuredFile: configured, rule: .podagent)
        }
    }
}
