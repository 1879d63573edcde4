import Plugins

/// The model a route's path names: `/v2/models/{name}` and `/v2/models/{name}/versions/{version}/...`.
extension ModelCatalog {
    /// The plugin named `name` (case-insensitive); with `version`, only when it is the model's one version.
    /// - Throws: ``AgentError`` `.notFound` naming the unknown model or version, and what exists.
    func plugin(route name: String, version: String?) throws(AgentError) -> any ModelPlugin {
        guard let plugin = plugin(named: name) else {
            throw AgentError(.notFound, ModelCatalog.unknownModelMessage(name, known: plugins))
        }
        if let version, version != plugin.manifest.version {
            throw AgentError(.notFound, "model '\(plugin.manifest.name)' has no version '\(version)' (its one version is '\(plugin.manifest.version)')")
        }
        return plugin
    }
}
