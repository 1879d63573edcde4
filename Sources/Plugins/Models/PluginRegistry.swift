/// The one list of parsers a manifest can name.
///
/// Each model's own parser is registered under its name; the generic names let a new model whose
/// output is one of the standard kinds be added with a manifest alone.
public struct PluginRegistry: Sendable {
    /// Builds a plugin from its manifest.
    public typealias Factory = @Sendable (PluginManifest) throws(PluginError) -> any ModelPlugin

    private let factories: [String: Factory]

    public init(factories: [String: Factory]) {
        self.factories = factories
    }

    /// Every parser PodAgent ships.
    public static let standard = PluginRegistry(factories: [
        "maptr": { manifest throws(PluginError) in try MapTRPlugin(manifest: manifest) },
        "petr": { manifest throws(PluginError) in try PETRPlugin(manifest: manifest) },
        "streampetr": { manifest throws(PluginError) in try StreamPETRPlugin(manifest: manifest) },
        "topomlp": { manifest throws(PluginError) in try TopoMLPPlugin(manifest: manifest) },
        "vad": { manifest throws(PluginError) in try VADPlugin(manifest: manifest) },
        // The synthetic Demo model: unwraps its raw and delegates to the format's parser.
        "demo": { manifest throws(PluginError) in try DemoPlugin(manifest: manifest) },
        // Generic kinds for manifest-only models.
        "detection3d-mmdet3d-0.17": { manifest throws(PluginError) in try PETRPlugin(manifest: manifest) },
        "detection3d-mmdet3d-1.0": { manifest throws(PluginError) in try StreamPETRPlugin(manifest: manifest) },
        "vectormap-maptr": { manifest throws(PluginError) in try MapTRPlugin(manifest: manifest) },
        "lanegraph-openlanev2": { manifest throws(PluginError) in try TopoMLPPlugin(manifest: manifest) },
    ])

    /// The names a manifest's `parser` key may take.
    public var parserNames: Set<String> { Set(factories.keys) }

    /// The plugin for `manifest`.
    /// - Throws: ``PluginError`` `.unknownParser` naming the manifest file, or the plugin's own check of the manifest.
    public func plugin(for manifest: PluginManifest) throws(PluginError) -> any ModelPlugin {
        guard let factory = factories[manifest.parser] else {
            throw PluginError(.unknownParser, "\(manifest.sourcePath): key 'parser': unknown parser '\(manifest.parser)' (known: \(parserNames.sorted().joined(separator: ", ")))")
        }
        return try factory(manifest)
    }

    /// Loads every manifest in `directory` and builds its plugin.
    public func loadPlugins(directory: String) throws(PluginError) -> [any ModelPlugin] {
        var plugins: [any ModelPlugin] = []
        for manifest in try ManifestLoader.loadDirectory(directory, registry: self) {
            plugins.append(try plugin(for: manifest))
        }
        return plugins
    }
}
