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

extension PodAgentCommand {
    struct Diagnose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a tar.gz for a bug report: log tail, configuration (secrets redacted), versions, manifests, GPU report, recent failures.")

        @Option(help: "The bundle to write (default: ./podagent-diagnose-<UTC time>.tar.gz).") var out: String?
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let supervisor = Supervisor.forCommand("diagnose")
            let runner = CommandRunner(supervisor: supervisor)
            let bundle = DiagnosticsBundle(loader: options.loader, runner: runner, probe: SystemGPUProbe(runner: runner, timeout: .seconds(5)))
            let output = out ?? DiagnosticsBundle.defaultOutput()
            let files = try await bundle.write(to: output)
            print("wrote \(output) (\(files.count) files: \(files.joined(separator: ", ")))")
        }
    }
}
