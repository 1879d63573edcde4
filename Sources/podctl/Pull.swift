import ArgumentParser
import Controller

extension PodctlCommand {
    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy REMOTE from every target pod into LOCALDIR/<pod>/ over SFTP (size and SHA-256 verified).")

        @OptionGroup var fleet: FleetArguments
        @OptionGroup var persistence: PersistArguments
        @Argument(help: "Remote file.") var remote: String
        @Argument(help: "Local directory; each pod's copy goes under its name.") var localDirectory: String

        func run() throws {
            let (options, pods) = try fleet.pods(persist: persistence)
            let progress = ProgressLine.onTerminal(total: pods.count)
            let results = TransferCommand.pull(remote: remote, localDirectory: localDirectory, pods: pods,
                                               settings: options.settings, fanout: options.fanout, progress: progress)
            progress?.clear()
            try report(results, verb: "pulled")
        }
    }
}
