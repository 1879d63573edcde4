extension ConfigSchema {
    /// Diagnostics keys (docs/gpu.md).
    static let diagnosticsSettings: [ConfigSetting] = [
        ConfigSetting(key: "log.file", environment: "PODAGENT_LOG_FILE", summary: "podagent's own log file (JSON lines) for `podagent diagnose`; default <state_dir>/podagent.log, 'off' for none") { config, value throws(ConfigProblem) in
            config.log.file = try value.string()
        },
    ]
}
