/// Model plugins: manifests, parsers into the standard result, and exports.
public enum PluginsModule {
    public static let name = "Plugins"
}
