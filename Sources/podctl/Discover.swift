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

            func run() throws {
                let environment = ProcessInfo.processInfo.environment
                guard let key = environment["RUNPOD_API_KEY"], !key.isEmpty else {
                    throw fail(ControllerError(.usage, "RUNPOD_API_KEY is not set"))
                }
                let base = apiURL ?? environment["RUNPOD_API_URL"] ?? RunPodDiscovery.defaultBaseURL
                do {
                    let found = RunPodDiscovery.classify(try RunPodDiscovery.fetch(baseURL: base, apiKey: key))
                    for pod in found {
                        if let host = pod.host, let port = pod.port {
                            print("\(pod.name)\t\(pod.id)\t\(pod.status)\troot@\(host):\(port)")
                        } else {
                            print("\(pod.name)\t\(pod.id)\t\(pod.status)\tunreachable: \(pod.unreachableReason ?? "?")")
                        }
                    }
                    if !dryRun {
                        let (added, updated) = try RunPodDiscovery.update(fleetFile: inventory, with: found)
                        OutputWriter.stderr.write("podctl: \(inventory): \(added) added, \(updated) updated\n")
                    }
                } catch {
                    throw fail(error)
                }
            }
        }
    }
}
