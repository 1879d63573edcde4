import ArgumentParser
import Controller
import Foundation

extension PodctlCommand {
    struct Discover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find pods through a provider's API and write them into the fleet file.",
            subcommands: [RunPod.self])

        struct RunPod: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "runpod",
                abstract: "List the account's RunPod pods (RUNPOD_API_KEY) and add/update their SSH endpoints in the fleet file.")

            @Option(name: .customLong("api-url"), help: "API base URL (default RUNPOD_API_URL, else https://rest.runpod.io/v1).")
            var apiURL: String?
            @Option(name: .short, help: "Fleet file to update (default ./fleet.yaml).") var inventory = "fleet.yaml"
            @Flag(help: "Only list; do not touch the fleet file.") var dryRun = false
            @Flag(help: "Then pin the discovered pods' host keys, fetched from their agents (as `podctl trust`).") var trust = false
            @Option(name: .customLong("known-hosts"), help: "known_hosts file for --trust (default ~/.ssh/known_hosts).") var knownHosts: String?
            @OptionGroup var trustArguments: TrustArguments

            func validate() throws {
                if trust && dryRun { throw ValidationError("--trust writes known_hosts and the fleet file; it cannot be combined with --dry-run") }
            }

            func run() throws {
                let environment = ProcessInfo.processInfo.environment
                guard let key = environment["RUNPOD_API_KEY"], !key.isEmpty else {
                    throw ControllerError(.usage, "RUNPOD_API_KEY is not set")
                }
                let base = apiURL ?? environment["RUNPOD_API_URL"] ?? RunPodDiscovery.defaultBaseURL
                let found = RunPodDiscovery.classify(try RunPodDiscovery.fetch(baseURL: base, apiKey: key))
                for pod in found {
                    if let host = pod.host, let port = pod.port {
                        print("\(pod.name)\t\(pod.id)\t\(pod.status)\troot@\(host):\(port)")
                    } else {
                        print("\(pod.name)\t\(pod.id)\t\(pod.status)\tunreachable: \(pod.unreachableReason ?? "?")")
                    }
                }
                if !dryRun {
                    let update = try RunPodDiscovery.update(fleetFile: inventory, with: found)
                    OutputWriter.stderr.write("podctl: \(inventory): \(update.added) added, \(update.updated) updated\n")
                    for note in update.notes { OutputWriter.stderr.write("podctl: \(note)\n") }
                }
                if trust { try trustDiscovered(found) }
            }

            /// Trusts the reachable pods just written, read back from the fleet file (so agent_url and token_file apply).
            private func trustDiscovered(_ found: [DiscoveredPod]) throws {
                var options = FleetOptions()
                options.inventoryPath = inventory
                options.knownHosts = knownHosts
                let ids = Set(found.filter { $0.host != nil }.map(\.id))
                let pods = try options.loadInventory().pods.filter { $0.runpodID.map(ids.contains) ?? false }
                guard !pods.isEmpty else {
                    OutputWriter.stderr.write("podctl: trust: no reachable pod to trust\n")
                    return
                }
                let results = TrustCommand.run(pods: pods, options: trustArguments.options(options))
                let status = TrustArguments.report(results)
                if status != 0 { throw ExitCode(status) }
            }
        }
    }
}
