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

/// Where a repository `load` may take a model's config and checkpoint from: the model's plugin
/// directory, the checkpoints directory and the data roots (symlinks resolved), or the directory of
/// the manifest's own config (the model's other configs in its code, installed with the image). A model's loader executes its config file (mmdet's `Config.fromfile` runs Python), so
/// a path from the API is confined like an input path, and the answer to a refused path is the
/// same whether the file exists or not.
struct LoadPaths: Sendable {
    let checkpointsDir: String
    let dataRoots: [String]

    /// The real path of `path` for `key` (`parameters.config`), or a 400 naming the key.
    func confine(_ path: String, key: String, manifest: PluginManifest) throws(AgentError) -> String {
        let pluginDir = PathNames.deletingLastComponent(manifest.sourcePath)
        // Only an absolute directory below the root: a config at "/x.py" must not open the whole file system.
        let configDir = Optional(PathNames.deletingLastComponent(manifest.config)).flatMap { $0.hasPrefix("/") && $0 != "/" ? $0 : nil }
        let places = "the model's plugin directory (\(pluginDir))" + (configDir.map { ", its configs' directory (\($0))" } ?? "")
            + ", the checkpoints directory (\(checkpointsDir)) or the data roots (\(dataRoots.joined(separator: ", ")))"
        let refused = AgentError(.invalidArgument, "\(key): '\(Self.shown(path))' is not a readable file inside \(places)")
        // NUL would cut the path short for the C calls below; other control characters have no place in a path.
        guard path.hasPrefix("/"), !path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw refused }
        guard let real = InputResolver.resolvedPath(path) else { throw refused }
        let roots = ([pluginDir, checkpointsDir] + (configDir.map { [$0] } ?? []) + dataRoots).compactMap(InputResolver.resolvedPath)
        guard roots.contains(where: { real == $0 || real.hasPrefix($0 == "/" ? "/" : $0 + "/") }) else { throw refused }
        var info = stat()
        guard stat(real, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(real, R_OK) == 0 else { throw refused }
        return real
    }

    /// The path as echoed in an error: at most 200 characters.
    static func shown(_ path: String) -> String {
        path.count > 200 ? String(path.prefix(200)) + "..." : path
    }
}
