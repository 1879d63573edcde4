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
import Plugins
import PodAgentExtras

extension PodAgentCommand {
    struct Parse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse a model's raw output offline into the standard result or an evaluation format; exit 2 on bad input.")

        @Option(help: "The model (a manifest name).") var model: String
        @Option(help: "The raw output JSON (one sample, or a list of samples).") var input: String
        @Option(help: "standard, nuscenes, nuscmap or openlane.") var format: String = "standard"
        @Option(help: "Leave out items scoring below this (default: the manifest's).") var scoreThreshold: Double?
        @Option(help: "List topology pairs at or above this probability.") var topologyThreshold: Double = 0.5
        @Option(help: "Per-sample calibration JSON (needed by --format nuscenes).") var calibration: String?
        @Option(help: "With --format openlane: a JSON file with the submission's method, authors, e-mail, institution / company and country / region.") var submissionInfo: String?
        @Option(help: "The sample id when the raw output names none.") var sampleId: String?
        @Flag(help: "Keep the raw output in the standard result.") var includeRaw = false
        @Flag(help: "Add the dense topology matrices to the standard result (always on for openlane).") var denseTopology = false
        @Option(help: "Write here (whole or not at all) instead of stdout.") var output: String?
        @Option(help: "With --format openlane and --output: also write the devkit's pickle here (needs python3 and numpy).") var pickle: String?
        @Option(help: ArgumentHelp("Benchmark: parse and render N times, print timings to stderr.", visibility: .hidden)) var repeatCount: Int = 0
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            guard let exportFormat = ExportFormat(rawValue: format) else {
                throw AgentError(.invalidArgument, "--format: '\(format)' is not one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if pickle != nil, exportFormat != .openlane || output == nil {
                throw AgentError(.invalidArgument, "--pickle needs --format openlane and --output")
            }
            let config = try options.loader.load()
            let catalog = try ModelCatalog.load(config: config)
            let job = OfflineParse(
                model: model, input: input, format: exportFormat, scoreThreshold: scoreThreshold,
                topologyThreshold: topologyThreshold, calibration: calibration, sampleID: sampleId, includeRaw: includeRaw,
                denseTopology: denseTopology, submissionInfo: submissionInfo)
            if repeatCount > 0 {
                StandardStream.writeError(try job.benchmark(plugins: catalog.plugins, iterations: repeatCount) + "\n")
                return
            }
            let bytes = try job.render(plugins: catalog.plugins)
            guard let output else {
                StandardStream.write(Data(bytes), to: STDOUT_FILENO)
                return
            }
            do { try AtomicFile.write(bytes, to: output) } catch { throw AgentError(error) }
            if let pickle {
                let supervisor = Supervisor.forCommand("parse")
                try await OfflineParse.writeOpenLanePickle(
                    json: output, pickle: pickle, pluginsDir: config.pluginsDir, runner: CommandRunner(supervisor: supervisor))
            }
        }
    }
}
