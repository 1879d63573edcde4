import ArgumentParser
import Controller

extension PodctlCommand {
    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a local file to REMOTE on every target pod over SFTP (size and SHA-256 verified).")

        @OptionGroup var fleet: FleetArguments
        @OptionGroup var persistence: PersistArguments
        @Argument(help: "Local file.") var local: String
        @Argument(help: "Remote path (the file's full name on the pod).") var remote: String

        func run() throws {
            let (options, pods) = try fleet.pods(persist: persistence)
            let progress = ProgressLine.onTerminal(total: pods.count)
            let results: [TransferResult]
            results = try TransferCommand.push(local: local, remote: remote, pods: pods, settings: options.settings,
                                               fanout: options.fanout, progress: progress)
            progress?.clear()
            try report(results, verb: "pushed")
        }
    }
}

/// One line per pod and a non-zero exit when any transfer failed.
func report(_ results: [TransferResult], verb: String) throws {
    var failed = 0
    for result in results {
        if let error = result.error {
            failed += 1
            OutputWriter.stderr.write("\(result.pod.name): error: \(error)\n")
        } else {
            OutputWriter.stdout.write("\(result.pod.name): \(verb) \(result.path) (\(result.bytes) bytes, sha256 \(result.sha256))\n")
        }
    }
    OutputWriter.stderr.write("podctl: \(results.count - failed) ok, \(failed) failed\n")
    if failed > 0 { throw ExitCode(1) }
}
