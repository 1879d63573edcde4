import ArgumentParser
import Compare
import Controller
import Foundation

extension PodctlCommand {
    struct CompareModels: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare",
            abstract: "Run the same samples through several models on the pods that serve them; write report.json and report.html.",
            discussion: """
                --models takes [LABEL=]MODEL[@POD] entries, e.g. PETR,VAD or petr=Demo@pod1,vad=Demo@pod2. \
                --option [LABEL:]KEY=VALUE sets a request option for every model or one column. \
                The report is written even when some requests fail (exit 1 then); see docs/compare.md.
                """)

        @OptionGroup var fleet: FleetArguments
        @OptionGroup var persistence: PersistArguments
        @Option(help: "Models to compare, comma-separated: [LABEL=]MODEL[@POD].") var models: String
        @Option(help: "A sample description JSON file (one object or a list) or a folder of *.json files.") var inputs: String
        @Option(help: "Folder for report.json and report.html.") var out = "compare-report"
        @Option(name: .customLong("option"), help: "[LABEL:]KEY=VALUE request option; repeatable.") var options: [String] = []
        @Option(name: .customLong("token-file"), help: "File holding the agents' API token (else PODCTL_TOKEN, else each pod's token_file).")
        var tokenFile: String?
        @Option(help: "Seconds to wait for each answer.") var timeout: Double = 300

        func run() throws {
            let (fleetOptions, pods) = try fleet.pods(persist: persistence)
            let progress = CompareProgress.onTerminal()
            var update: CompareRunner.Progress?
            if let progress {
                update = { done, total, failed in progress.update(done: done, total: total, failed: failed) }
            }
            let outcome: (report: CompareReport, json: String, html: String)
            do {
                let series = try CompareSeries.parse(models: models, options: options)
                let samples = try SampleLoader.load(inputs)
                outcome = try CompareCommand.run(
                    pods: pods, settings: fleetOptions.settings, series: series, samples: samples, tokenFile: tokenFile,
                    environment: ProcessInfo.processInfo.environment, timeout: timeout, outDirectory: out,
                    progress: update, warn: { OutputWriter.stderr.write("podctl: \($0)\n") })
            } catch {
                progress?.clear()
                throw error
            }
            progress?.clear()
            try printOutcome(outcome.report, json: outcome.json, html: outcome.html, tool: "podctl")
        }
    }
}

/// The closing lines of a compare run; exit 1 when any request failed (the report is written anyway).
func printOutcome(_ report: CompareReport, json: String, html: String, tool: String) throws {
    for row in report.perModel {
        let p50 = row.latencyS.map { String(format: "p50 %.1f ms", $0.p50 * 1000) } ?? "no successful request"
        OutputWriter.stdout.write("\(row.model): \(row.succeeded)/\(row.requests) ok, \(p50)\n")
    }
    for failure in report.failures.prefix(20) {
        OutputWriter.stderr.write("\(tool): failed: \(failure.model) on \(failure.sample) (\(failure.pod)): \(failure.kind): \(failure.message)\n")
    }
    if report.failures.count > 20 { OutputWriter.stderr.write("\(tool): ... \(report.failures.count - 20) more failures in \(json)\n") }
    OutputWriter.stdout.write("wrote \(json) and \(html)\n")
    if !report.failures.isEmpty { throw ExitCode(1) }
}
