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
import PodAgentExtras

/// Writes the generated recipes to disk: one model's Dockerfile, or every real model's under
/// `<dir>/<Model>/Dockerfile` (what `make images` checks in under bootstrap/images/).
public enum ImageRecipes {
    /// Writes `text` to `path` whole or not at all, creating its folder.
    /// - Throws: ``AgentError`` `.system` naming the path.
    public static func write(_ text: String, to path: String) throws(AgentError) {
        let folder = PathNames.deletingLastComponent(path)
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw AgentError(.system, "\(folder): cannot create the folder: \(errorText(error))")
            }
        }
        try AgentError.writing(AtomicFile.write(text, to: path, mode: 0o644))
    }

    /// Generates every non-synthetic manifest's Dockerfile into `<directory>/<Model>/Dockerfile`.
    /// Every recipe is generated before the first is written, so a bad manifest leaves the folder as it was.
    /// - Returns: the paths written, and the models skipped with the reason.
    public static func writeAll(
        manifests: [PluginManifest], into directory: String, generator: DockerfileGenerator = DockerfileGenerator()
    ) throws(AgentError) -> (written: [String], skipped: [(model: String, reason: String)]) {
        var pending: [(path: String, text: String)] = []
        var skipped: [(model: String, reason: String)] = []
        for manifest in manifests {
            if DockerfileGenerator.syntheticParsers.contains(manifest.parser) {
                skipped.append((manifest.name, "synthetic (parser '\(manifest.parser)')"))
                continue
            }
            pending.append(("\(directory)/\(manifest.name)/Dockerfile", try generator.dockerfile(for: manifest)))
        }
        for item in pending { try write(item.text, to: item.path) }
        return (pending.map(\.path), skipped)
    }
}
