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
import Logging
import PodAgentExtras

/// One configuration key: its dotted YAML path, its environment variable, and how a value is applied.
public struct ConfigSetting: Sendable {
    public let key: String
    public let environment: String?
    public let summary: String
    let apply: @Sendable (inout AgentConfig, ConfigValue) throws(ConfigProblem) -> Void
}

/// A raw value before validation, from a YAML node, an environment variable or a flag.
public enum ConfigValue: Sendable {
    case scalar(String)
    case list([String])

    func string() throws(ConfigProblem) -> String {
        guard case .scalar(let value) = self else { throw ConfigProblem("expected a single value, got a list") }
        return value
    }

    func int(in range: ClosedRange<Int>) throws(ConfigProblem) -> Int {
        let text = try string()
        guard let value = Int(text.trimmingSpace(newlines: false)) else {
            throw ConfigProblem("'\(text)' is not an integer")
        }
        guard range.contains(value) else {
            throw ConfigProblem("\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func seconds(in range: ClosedRange<Double>) throws(ConfigProblem) -> Double {
        let text = try string()
        guard let value = Double(text.trimmingSpace(newlines: false)), value.isFinite else {
            throw ConfigProblem("'\(text)' is not a number of seconds")
        }
        guard range.contains(value) else {
            throw ConfigProblem("\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func bool() throws(ConfigProblem) -> Bool {
        let text = try string().lowercased()
        switch text {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigProblem("'\(text)' is not a boolean (use true/false, on/off)")
        }
    }

    func oneOf(_ choices: [String]) throws(ConfigProblem) -> String {
        let text = try string().lowercased()
        guard choices.contains(text) else {
            throw ConfigProblem("'\(text)' is not one of \(choices.joined(separator: ", "))")
        }
        return text
    }

    func nonEmptyString() throws(ConfigProblem) -> String {
        let text = try string()
        guard !text.isEmpty else { throw ConfigProblem("must not be empty") }
        return text
    }

    func strings() -> [String] {
        switch self {
        case .scalar(let value): value.split(separator: ",").map { $0.trimmingSpace(newlines: false) }.filter { !$0.isEmpty }
        case .list(let values): values
        }
    }
}

/// What is wrong with one value; the loader adds where it came from and which key.
public struct ConfigProblem: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Every configuration key podagent knows.
public enum ConfigSchema {
    public static let settings: [ConfigSetting] = [
        ConfigSetting(key: "http.host", environment: "PODAGENT_HTTP_HOST", summary: "HTTP bind address") { config, value throws(ConfigProblem) in
            config.http.host = try value.nonEmptyString()
        },
        ConfigSetting(key: "http.port", environment: "PODAGENT_HTTP_PORT", summary: "HTTP port (0 picks a free one)") { config, value throws(ConfigProblem) in
            config.http.port = try value.int(in: 0...65535)
        },
        ConfigSetting(key: "http.header_timeout", environment: "PODAGENT_HTTP_HEADER_TIMEOUT", summary: "seconds a client may take to send a request head") { config, value throws(ConfigProblem) in
            config.http.headerTimeout = try value.seconds(in: 0.1...3600)
        },
        ConfigSetting(key: "http.idle_timeout", environment: "PODAGENT_HTTP_IDLE_TIMEOUT", summary: "seconds an idle (keep-alive) connection stays open") { config, value throws(ConfigProblem) in
            config.http.idleTimeout = try value.seconds(in: 0.1...86_400)
        },
        ConfigSetting(key: "http.max_connections", environment: "PODAGENT_HTTP_MAX_CONNECTIONS", summary: "open HTTP connections at most") { config, value throws(ConfigProblem) in
            config.http.maxConnections = try value.int(in: 8...1_000_000)
        },
        ConfigSetting(key: "http.threads", environment: "PODAGENT_HTTP_THREADS", summary: "event loop threads (HTTP and the agent's tasks)") { config, value throws(ConfigProblem) in
            config.http.threads = try value.int(in: ThreadBudget.threadRange)
        },
        ConfigSetting(key: "state_dir", environment: "PODAGENT_STATE_DIR", summary: "state directory") { config, value throws(ConfigProblem) in
            config.stateDir = try value.nonEmptyString()
        },
        ConfigSetting(key: "plugins_dir", environment: "PODAGENT_PLUGINS_DIR", summary: "model plugins directory") { config, value throws(ConfigProblem) in
            config.pluginsDir = try value.nonEmptyString()
        },
        ConfigSetting(key: "log.level", environment: "PODAGENT_LOG_LEVEL", summary: "trace, debug, info, notice, warning, error, critical") { config, value throws(ConfigProblem) in
            let name = try value.oneOf(Logger.Level.allCases.map(\.rawValue))
            config.log.level = Logger.Level(rawValue: name) ?? .info
        },
        ConfigSetting(key: "log.format", environment: "PODAGENT_LOG_FORMAT", summary: "text or json") { config, value throws(ConfigProblem) in
            let name = try value.oneOf(AgentConfig.Log.Format.allCases.map(\.rawValue))
            config.log.format = AgentConfig.Log.Format(rawValue: name) ?? .text
        },
        ConfigSetting(key: "gpu.poll_interval", environment: "PODAGENT_GPU_POLL_INTERVAL", summary: "seconds between GPU readings") { config, value throws(ConfigProblem) in
            config.gpu.pollInterval = try value.seconds(in: 0.1...3600)
        },
        ConfigSetting(key: "gpu.probe_timeout", environment: "PODAGENT_GPU_PROBE_TIMEOUT", summary: "seconds one GPU probe may take") { config, value throws(ConfigProblem) in
            config.gpu.probeTimeout = try value.seconds(in: 0.1...60)
        },
        ConfigSetting(key: "shutdown_timeout", environment: "PODAGENT_SHUTDOWN_TIMEOUT", summary: "seconds to drain requests and stop children") { config, value throws(ConfigProblem) in
            config.shutdownTimeout = try value.seconds(in: 0...3600)
        },
        // Model plugins (docs/plugins.md).
        ConfigSetting(key: "models", environment: "PODAGENT_MODELS", summary: "models to run: names from the plugins directory, comma-separated, or 'all'") { config, value throws(ConfigProblem) in
            config.models = value.strings()
        },
        ConfigSetting(key: "checkpoints_dir", environment: "PODAGENT_CHECKPOINTS_DIR", summary: "where model checkpoints are (validate looks for the manifest's file there)") { config, value throws(ConfigProblem) in
            config.checkpointsDir = try value.nonEmptyString()
        },
    ] + sshSettings + diagnosticsSettings + apiSettings + inferenceSettings

    static let byKey: [String: ConfigSetting] = Dictionary(uniqueKeysWithValues: settings.map { ($0.key, $0) })
}
