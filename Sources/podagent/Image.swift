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

extension PodAgentCommand {
    struct Image: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate model images' recipes from the plugin manifests.",
            subcommands: [Dockerfile.self])

        struct Dockerfile: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a model's Dockerfile from its manifest (stdout, --out FILE, or --all --out-dir DIR); exit 2 on a bad manifest.")

            @Option(help: "The model (a manifest name).") var model: String?
            @Option(help: "Write here (whole or not at all) instead of stdout.") var out: String?
            @Flag(help: "Every model with a real image (synthetic ones such as Demo are skipped), into --out-dir.") var all = false
            @Option(name: .customLong("out-dir"), help: "With --all: writes <DIR>/<Model>/Dockerfile.") var outDir: String?
            @Option(name: .customLong("plugins-dir"), help: "Model plugins directory (plugins_dir).") var pluginsDir: String?

            func validate() throws {
                if all {
                    if model != nil || out != nil { throw ValidationError("--all excludes --model and --out") }
                    if outDir == nil { throw ValidationError("--all needs --out-dir") }
                } else {
                    if model == nil { throw ValidationError("give --model NAME (or --all --out-dir DIR)") }
                    if outDir != nil { throw ValidationError("--out-dir goes with --all; use --out FILE for one model") }
                }
            }

            func run() throws {
                var flags: [String: ConfigValue] = [:]
                if let pluginsDir { flags["plugins_dir"] = .scalar(pluginsDir) }
                let config = try ConfigLoader(file: nil, flags: flags).load()
                let manifests: [PluginManifest]
                do {
                    manifests = try ManifestLoader.loadDirectory(config.pluginsDir)
                } catch {
                    throw AgentError(error)
                }
                if all, let outDir {
                    let result = try ImageRecipes.writeAll(manifests: manifests, into: outDir)
                    for path in result.written { print("wrote \(path)") }
                    for skip in result.skipped { print("skipped \(skip.model): \(skip.reason)") }
                    return
                }
                let name = model ?? ""
                guard let manifest = manifests.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                    throw AgentError(.invalidArgument, "unknown model '\(name)' in \(config.pluginsDir) (known: \(manifests.map(\.name).joined(separator: ", ")))")
                }
                let text = try DockerfileGenerator().dockerfile(for: manifest)
                if let out {
                    try ImageRecipes.write(text, to: out)
                } else {
                    StandardStream.writeOutput(text)
                }
            }
        }
    }
}
