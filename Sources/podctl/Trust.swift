import ArgumentParser
import Controller
import Foundation

/// Options `trust` and `discover runpod --trust` share.
struct TrustArguments: ParsableArguments {
    @Option(name: .customLong("agent-ca"), help: "PEM certificate(s) to trust for the agents' https instead of the system CAs (a private CA or a self-signed certificate).")
    var agentCA: String?
    @Option(name: .customLong("token-file"), help: "File holding the agents' API token (else PODCTL_TOKEN, else each pod's token_file).")
    var tokenFile: String?
    @Option(name: .customLong("agent-timeout"), help: "Seconds one agent may take to answer.")
    var agentTimeout = 30

    func validate() throws {
        if agentTimeout < 1 { throw ValidationError("--agent-timeout must be at least 1 second") }
    }

    func options(_ fleet: FleetOptions) -> TrustCommand.Options {
        TrustCommand.Options(knownHostsFile: fleet.knownHostsFile, caFile: agentCA.map(fleet.expandingTilde),
                             tokenFile: tokenFile.map(fleet.expandingTilde), timeout: agentTimeout, fanout: fleet.fanout)
    }

    /// Prints one line per pod (stdout for pinned ones, stderr for the rest) and returns the exit status.
    static func report(_ results: [TrustCommand.Result]) -> Int32 {
        for result in results {
            if result.succeeded { print(result.line) } else { OutputWriter.stderr.write("podctl: \(result.line)\n") }
        }
        let failed = results.filter { !$0.succeeded }.count
        if failed > 0 { OutputWriter.stderr.write("podctl: trust: \(failed) of \(results.count) pods not trusted\n") }
        return failed == 0 ? 0 : 1
    }
}

extension PodctlCommand {
    struct Trust: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch each pod's SSH host keys from its agent (agent_url, over verified TLS) and pin them in known_hosts.",
            discussion: """
                Keys are pinned under the pod's name (the HostKeyAlias of `podctl ssh-config`) and under [host]:port. \
                A key that differs from one already pinned is refused and nothing is written for that pod. \
                Token: --token-file, else PODCTL_TOKEN, else the pod's token_file. Exit status 1 when any pod was not trusted.
                """)

        @OptionGroup var fleet: FleetArguments
        @OptionGroup var trust: TrustArguments

        func run() throws {
            let (options, pods) = try fleet.pods()
            let results = TrustCommand.run(pods: pods, options: trust.options(options))
            let status = TrustArguments.report(results)
            if status != 0 { throw ExitCode(status) }
        }
    }
}
