#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Plugins
import PodAgentExtras

/// Every model plugin found in the plugins directory, and which of them the configuration enables.
public struct ModelCatalog: Sendable {
    /// Every loaded plugin, by manifest order (folder name).
    public let plugins: [any ModelPlugin]
    /// Names of the enabled models, in plugin order.
    public let enabled: [String]
    /// Each plugin's manifest name in lowercase, in plugin order: looked up several times on every
    /// request, where reading `manifest.name` through the plugin copied its whole manifest and both
    /// names were lowercased for every plugin.
    private let lowercasedNames: [String]
    /// Each plugin's manifest name as written, in plugin order.
    private let names: [String]

    /// No plugins, none enabled.
    public static let empty = ModelCatalog(plugins: [], enabled: [])

    public init(plugins: [any ModelPlugin], enabled: [String]) {
        self.plugins = plugins
        self.enabled = enabled
        self.names = plugins.map(\.manifest.name)
        self.lowercasedNames = names.map { $0.lowercased() }
    }

    /// Loads every manifest in `config.pluginsDir` and resolves `config.models`.
    ///
    /// A missing directory is fine when no model is asked for (a laptop run); a malformed manifest,
    /// an unknown parser or an unknown model name stops startup.
    /// - Throws: ``AgentError`` `.invalidConfig` naming the manifest file and key, or the unknown model.
    public static func load(config: AgentConfig) throws(AgentError) -> ModelCatalog {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: config.pluginsDir, isDirectory: &isDirectory), isDirectory else {
            if config.models.isEmpty { return .empty }
            throw AgentError(.invalidConfig, "plugins_dir \(config.pluginsDir) does not exist, but models \(config.models.joined(separator: ", ")) are asked for")
        }
        let plugins: [any ModelPlugin]
        do {
            plugins = try PluginRegistry.standard.loadPlugins(directory: config.pluginsDir)
        } catch {
            throw AgentError(error)
        }
        return try ModelCatalog(plugins: plugins, enabled: resolve(config.models, among: plugins.map(\.manifest.name)))
    }

    /// Maps requested names to manifest names (case-insensitive); `all` enables every model.
    static func resolve(_ requested: [String], among names: [String]) throws(AgentError) -> [String] {
        if requested.contains(where: { $0.lowercased() == "all" }) { return names }
        var enabled: [String] = []
        for name in requested {
            guard let match = names.first(where: { $0.lowercased() == name.lowercased() }) else {
                throw AgentError(.invalidConfig, "models: unknown model '\(name)' (known: \(names.joined(separator: ", ")))")
            }
            if !enabled.contains(match) { enabled.append(match) }
        }
        return names.filter { enabled.contains($0) }
    }

    /// The plugin named `name` (case-insensitive).
    public func plugin(named name: String) -> (any ModelPlugin)? {
        let wanted = name.lowercased()
        return lowercasedNames.firstIndex(of: wanted).map { plugins[$0] }
    }

    /// The manifest's spelling of the model named `name` (case-insensitive), nil when none is.
    public func canonicalName(_ name: String) -> String? {
        let wanted = name.lowercased()
        return lowercasedNames.firstIndex(of: wanted).map { names[$0] }
    }

    public func isEnabled(_ name: String) -> Bool { enabled.contains(name) }
}

extension AgentError {
    /// Maps the Plugins module's error at the agent's edge: bad input is a bad argument, the rest a system error.
    public init(_ error: PluginError) {
        switch error.code {
        case .io: self.init(.system, error.message)
        case .invalidManifest, .unknownParser: self.init(.invalidConfig, error.message)
        default: self.init(.invalidArgument, error.message)
        }
    }
}

extension ModelCatalog {
    /// "unknown model" that says why when the plugins directory held no manifest at all.
    public static func unknownModelMessage(_ model: String, known plugins: [any ModelPlugin], pluginsDir: String? = nil) -> String {
        guard !plugins.isEmpty else {
            let directory = pluginsDir.map { " in \($0)" } ?? ""
            return "unknown model '\(model)': no plugin manifests were found\(directory) (set --plugins-dir or PODAGENT_PLUGINS_DIR)"
        }
        return "unknown model '\(model)' (known: \(plugins.map(\.manifest.name).joined(separator: ", ")))"
    }
}
