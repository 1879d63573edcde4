import ArgumentParser
import Controller
import Foundation

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
