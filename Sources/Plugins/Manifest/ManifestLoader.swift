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
import MiniYAML
import PodAgentExtras

/// Reads `plugin.yaml` files strictly: a missing key, a wrong type or an unknown key stops with an
/// error naming the file, the key (and line) and the problem.
public enum ManifestLoader {
    /// Every `<dir>/<Model>/plugin.yaml`, sorted by folder name; names must be unique.
    /// - Throws: ``PluginError`` `.invalidManifest` or `.unknownParser` for the first bad manifest.
    public static func loadDirectory(_ directory: String, registry: PluginRegistry = .standard) throws(PluginError) -> [PluginManifest] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw PluginError(.io, "\(directory): cannot list the plugins directory: \(errorText(error))")
        }
        var manifests: [PluginManifest] = []
        var seen: [String: String] = [:]
        for entry in entries {
            let path = "\(directory)/\(entry)/plugin.yaml"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let manifest = try load(path: path, registry: registry)
            if let other = seen[manifest.name.lowercased()] {
                throw PluginError(.invalidManifest, "\(path): key 'name': '\(manifest.name)' is already declared by \(other)")
            }
            seen[manifest.name.lowercased()] = path
            manifests.append(manifest)
        }
        return manifests
    }

    /// Reads one manifest file.
    public static func load(path: String, registry: PluginRegistry = .standard) throws(PluginError) -> PluginManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PluginError(.invalidManifest, "\(path): cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path, registry: registry)
    }

    /// Parses manifest text; `path` names it in errors.
    public static func parse(_ text: String, path: String, registry: PluginRegistry = .standard) throws(PluginError) -> PluginManifest {
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(text)
        } catch {
            throw PluginError(.invalidManifest, "\(path): not valid YAML: \(error)")
        }
        guard let root, root.mapping != nil else {
            throw PluginError(.invalidManifest, "\(path): expected a mapping of keys at the top level")
        }
        let reader = NodeReader(path: path)
        let manifest = try reader.manifest(root)
        guard registry.parserNames.contains(manifest.parser) else {
            throw PluginError(.unknownParser, "\(path): key 'parser': unknown parser '\(manifest.parser)' (known: \(registry.parserNames.sorted().joined(separator: ", ")))")
        }
        return manifest
    }
}
