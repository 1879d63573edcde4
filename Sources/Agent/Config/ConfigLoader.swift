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

/// Builds an ``AgentConfig`` from its layers: embedded defaults < YAML file < `PODAGENT_*` environment < flags.
public struct ConfigLoader: Sendable {
    /// The file read when `--config` is not given, if it exists.
    public static let defaultFile = "/etc/podagent/podagent.yaml"

    /// The config file named by `--config`, or nil for the default.
    public var file: String?
    public var environment: [String: String]
    /// Flag values by dotted key (`http.port` → "9000").
    public var flags: [String: ConfigValue]

    public init(file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment, flags: [String: ConfigValue] = [:]) {
        self.file = file
        self.environment = environment
        self.flags = flags
    }

    /// Environment variables that look like podagent's but name no key (typos worth a warning).
    public var unknownEnvironment: [String] {
        let known = Set(ConfigSchema.settings.compactMap(\.environment)).union(Self.otherKnownVariables)
        return environment.keys.filter { $0.hasPrefix("PODAGENT_") && !known.contains($0) }.sorted()
    }

    /// Variables read by later parts of podagent rather than the config layers.
    static let otherKnownVariables: Set<String> = ["PODAGENT_URL", "PODAGENT_TOKEN"]

    /// Applies every layer.
    /// - Throws: ``AgentError`` `.invalidConfig` naming the file (or variable, or flag), the key and the problem.
    public func load() throws(AgentError) -> AgentConfig {
        var config = AgentConfig()
        let path = file ?? (FileManager.default.fileExists(atPath: Self.defaultFile) ? Self.defaultFile : nil)
        if let path {
            for entry in try YAMLConfigFile.read(path: path) {
                try apply(entry.key, entry.value, origin: "\(path), line \(entry.line)", to: &config)
            }
        }
        for setting in ConfigSchema.settings {
            guard let name = setting.environment, let value = environment[name] else { continue }
            try apply(setting.key, .scalar(value), origin: "environment variable \(name)", to: &config)
        }
        for (key, value) in flags.sorted(by: { $0.key < $1.key }) {
            try apply(key, value, origin: "command-line flag", to: &config)
        }
        return config
    }

    private func apply(_ key: String, _ value: ConfigValue, origin: String, to config: inout AgentConfig) throws(AgentError) {
        guard let setting = ConfigSchema.byKey[key] else {
            throw AgentError(.invalidConfig, "\(origin): unknown key '\(key)'")
        }
        do {
            try setting.apply(&config, value)
        } catch {
            throw AgentError(.invalidConfig, "\(origin): key '\(key)': \(error.message)")
        }
    }
}

/// Reads a YAML config file into dotted keys with their line numbers.
enum YAMLConfigFile {
    struct Entry {
        var key: String
        var value: ConfigValue
        var line: Int
    }

    static func read(path: String) throws(AgentError) -> [Entry] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw AgentError(.invalidConfig, "\(path): cannot read the config file: \(errorText(error))")
        }
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(text)
        } catch {
            throw AgentError(.invalidConfig, "\(path): not valid YAML: \(error)")
        }
        guard let root else { return [] }  // an empty file keeps every default
        guard case .mapping(let mapping) = root else {
            throw AgentError(.invalidConfig, "\(path), line \(root.mark.line): the top level must be a mapping of keys")
        }
        var entries: [Entry] = []
        try flatten(mapping, prefix: "", path: path, into: &entries)
        return entries
    }

    private static func flatten(_ mapping: YAMLMapping, prefix: String, path: String, into entries: inout [Entry]) throws(AgentError) {
        for (keyNode, valueNode) in mapping {
            let line = keyNode.mark.line
            guard case .scalar(let keyScalar) = keyNode else {
                throw AgentError(.invalidConfig, "\(path), line \(line): keys must be plain names")
            }
            let key = prefix.isEmpty ? keyScalar.string : "\(prefix).\(keyScalar.string)"
            if ConfigSchema.byKey[key] != nil {
                entries.append(Entry(key: key, value: try value(of: valueNode, key: key, path: path), line: line))
            } else if case .mapping(let nested) = valueNode {
                try flatten(nested, prefix: key, path: path, into: &entries)
            } else {
                throw AgentError(.invalidConfig, "\(path), line \(line): unknown key '\(key)'")
            }
        }
    }

    private static func value(of node: YAMLNode, key: String, path: String) throws(AgentError) -> ConfigValue {
        let line = node.mark.line
        switch node {
        case .scalar(let scalar):
            return .scalar(scalar.string)
        case .sequence(let sequence, _):
            var items: [String] = []
            for item in sequence {
                guard case .scalar(let scalar) = item else {
                    throw AgentError(.invalidConfig, "\(path), line \(line): key '\(key)': list items must be plain values")
                }
                items.append(scalar.string)
            }
            return .list(items)
        case .mapping:
            throw AgentError(.invalidConfig, "\(path), line \(line): key '\(key)': expected a value or a list, got a mapping")
        }
    }
}
