import AgentAPI
import ArgumentParser
import Compare
import Controller
import Foundation
import Plugins

extension PodctlCommand {
    struct Infer: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one sample through a model on a pod's agent (over an SSH tunnel) and print the standard result.",
            discussion: """
                INPUT is a sample description (JSON file). Add or replace keys with --path KEY=/path/on/the/pod or \
                --upload KEY=LOCAL_FILE (sent base64). Token: --token-file, else PODCTL_TOKEN, else the inventory's token_file. \
                Exit status (README): 0 ok, 2 bad usage, 3 token refused (401), 4 no such model (404), 5 busy or not ready (429/503), \
                6 timed out (504), 1 otherwise.
                """)

        @OptionGroup var fleet: FleetArguments
        @OptionGroup var persistence: PersistArguments
        @Argument(help: "The pod.") var pod: String
        @Argument(help: "The model (as the agent names it).") var model: String
        @Argument(help: "Sample description JSON file.") var input: String?
        @Option(name: .customLong("path"), help: "KEY=/path/on/the/pod (a file the agent reads); repeatable.") var paths: [String] = []
        @Option(name: .customLong("upload"), help: "KEY=LOCAL_FILE uploaded as base64; repeatable.") var uploads: [String] = []
        @Option(name: .customLong("option"), help: "KEY=VALUE request option (JSON value or string), e.g. score_threshold=0.3; repeatable.")
        var options: [String] = []
        @Option(help: "Export format: standard, nuscenes, nuscmap or openlane.") var format: String?
        @Option(name: .customLong("token-file"), help: "File holding the agent's API token.") var tokenFile: String?
        @Option(help: "Seconds to wait for the answer.") var timeout: Double = 300
        @Flag(help: "Print the agent's JSON as received (one line).") var json = false
        @Flag(help: "Print a short summary table instead of the whole result.") var summary = false

        func validate() throws {
            if json && summary { throw ValidationError("--json and --summary exclude each other") }
            if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
        }

        func run() throws {
            var arguments = fleet
            arguments.w = [pod]
            let (options, pods) = try arguments.pods(persist: persistence)
            guard pods.count == 1, let target = pods.first else {
                throw ControllerError(.usage, "infer takes exactly one pod; '\(pod)' selects \(pods.count)")
            }
            let sample = try SampleLoader.build(file: input, podPaths: paths, uploads: uploads)
            var requestOptions: [String: JSONValue] = [:]
            for option in self.options {
                let (key, value) = try CompareSeries.parseOption(option)
                requestOptions[key] = value
            }
            if let format { requestOptions["format"] = .string(format) }
            let token = try AgentToken.resolve(flagFile: tokenFile, environment: ProcessInfo.processInfo.environment,
                                               configuredFile: target.tokenFile, rule: .podctl)
            _ = try InferCommand.run(pod: target, settings: options.settings, model: model, sample: sample,
                                     options: requestOptions, token: token, timeout: timeout,
                                     output: json ? .json : summary ? .summary : .pretty)
        }
    }
}
