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
