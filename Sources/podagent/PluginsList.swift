import Agent
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Plugins

extension PodAgentCommand {
    struct PluginsList: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plugins", abstract: "List the model plugins in the plugins directory and which are enabled.")

        @Flag(help: "Print JSON (the manifests as loaded).") var json = false
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let catalog = try ModelCatalog.load(config: options.loader.load())
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                let entries = catalog.plugins.map { Entry(enabled: catalog.isEnabled($0.manifest.name), manifest: $0.manifest) }
                print(String(decoding: try encoder.encode(entries), as: UTF8.self))
                return
            }
            if catalog.plugins.isEmpty { print("no model plugins found") }
            for plugin in catalog.plugins {
                let m = plugin.manifest
                let state = catalog.isEnabled(m.name) ? "enabled" : "disabled"
                print("\(m.name) \(m.version)  \(state)  tasks: \(m.tasks.map(\.rawValue).joined(separator: ","))  parser: \(m.parser)  upstream: \(m.upstream.repository)@\(m.upstream.commit)")
            }
        }

        struct Entry: Encodable {
            var enabled: Bool
            var manifest: PluginManifest
        }
    }
}
