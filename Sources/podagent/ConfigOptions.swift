import Agent
import ArgumentParser

/// The flags every command that reads the configuration accepts.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "YAML config file (default: /etc/podagent/podagent.yaml when present).")
    var configFile: String?

    @Option(name: .customLong("http-host"), help: "HTTP bind address (http.host).")
    var httpHost: String?

    @Option(name: .customLong("http-port"), help: "HTTP port (http.port).")
    var httpPort: String?

    @Option(name: .customLong("state-dir"), help: "State directory (state_dir).")
    var stateDir: String?

    @Option(name: .customLong("plugins-dir"), help: "Model plugins directory (plugins_dir).")
    var pluginsDir: String?

    @Option(name: .customLong("log-level"), help: "Log level (log.level).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text or json (log.format).")
    var logFormat: String?

    @Option(name: .customLong("models"), help: "Models to run, comma-separated, or 'all' (models).")
    var models: String?

    var loader: ConfigLoader {
        var flags: [String: ConfigValue] = [:]
        let pairs: [(String, String?)] = [
            ("http.host", httpHost), ("http.port", httpPort), ("state_dir", stateDir),
            ("plugins_dir", pluginsDir), ("log.level", logLevel), ("log.format", logFormat), ("models", models),
        ]
        for (key, value) in pairs { if let value { flags[key] = .scalar(value) } }
        return ConfigLoader(file: configFile, flags: flags)
    }
}
