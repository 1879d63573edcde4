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

extension AgentConfig {
    /// The HTTP API's protection and limits (documented in docs/api.md).
    public struct API: Sendable, Equatable {
        /// A file holding the bearer token (read once at start, trimmed); `PODAGENT_TOKEN` wins over it.
        public var tokenFile: String?
        /// Serve /metrics without the token (for a scraper inside the cluster).
        public var metricsPublic = false
        /// The largest request body accepted, in MiB; larger bodies get 413.
        public var maxBodyMiB = 64
        /// Request bodies of 1 MiB or more handled at once; more get 429 (each holds its body in memory).
        public var maxLargeBodies = 2
        /// Input file paths must resolve (symlinks included) inside one of these directories.
        public var dataRoots = ["/workspace", "/data"]

        public init() {}

        /// ``maxBodyMiB`` in bytes.
        public var maxBodyBytes: Int { maxBodyMiB * 1024 * 1024 }
    }

    /// Asynchronous jobs (`POST /jobs`), stored in `<state_dir>/jobs`.
    public struct Jobs: Sendable, Equatable {
        /// Jobs run at the same time (each still waits in its model's queue).
        public var concurrency = 2
        /// Jobs waiting to start; more get 429.
        public var maxQueued = 1000
        /// Finished jobs older than this many hours are deleted.
        public var retentionHours: Double = 168
        /// At most this many finished jobs are kept (the oldest go first).
        public var maxKept = 1000

        public init() {}
    }
}

extension ConfigSchema {
    /// The `api.*` and `jobs.*` keys (documented in docs/api.md).
    static let apiSettings: [ConfigSetting] = [
        ConfigSetting(key: "api.token_file", environment: "PODAGENT_TOKEN_FILE", summary: "file holding the API bearer token (PODAGENT_TOKEN wins)") { config, value throws(ConfigProblem) in
            config.api.tokenFile = try value.nonEmptyString()
        },
        ConfigSetting(key: "api.metrics_public", environment: "PODAGENT_METRICS_PUBLIC", summary: "serve /metrics without the token") { config, value throws(ConfigProblem) in
            config.api.metricsPublic = try value.bool()
        },
        ConfigSetting(key: "api.max_body_mib", environment: "PODAGENT_MAX_BODY_MIB", summary: "largest request body in MiB (413 above)") { config, value throws(ConfigProblem) in
            config.api.maxBodyMiB = try value.int(in: 1...4096)
        },
        ConfigSetting(key: "api.max_large_bodies", environment: "PODAGENT_MAX_LARGE_BODIES", summary: "request bodies of 1 MiB or more handled at once (429 above)") { config, value throws(ConfigProblem) in
            config.api.maxLargeBodies = try value.int(in: 1...256)
        },
        ConfigSetting(key: "api.data_roots", environment: "PODAGENT_DATA_ROOTS", summary: "directories input paths must resolve inside, comma-separated") { config, value throws(ConfigProblem) in
            let roots = value.strings()
            guard !roots.isEmpty else { throw ConfigProblem("must name at least one directory") }
            for root in roots where !root.hasPrefix("/") {
                throw ConfigProblem("'\(root)' is not an absolute path")
            }
            config.api.dataRoots = roots
        },
        ConfigSetting(key: "jobs.concurrency", environment: "PODAGENT_JOBS_CONCURRENCY", summary: "jobs running at the same time") { config, value throws(ConfigProblem) in
            config.jobs.concurrency = try value.int(in: 1...256)
        },
        ConfigSetting(key: "jobs.max_queued", environment: "PODAGENT_JOBS_MAX_QUEUED", summary: "jobs waiting to start before POST /jobs answers 429") { config, value throws(ConfigProblem) in
            config.jobs.maxQueued = try value.int(in: 1...1_000_000)
        },
        ConfigSetting(key: "jobs.retention_hours", environment: "PODAGENT_JOBS_RETENTION_HOURS", summary: "hours a finished job stays readable") { config, value throws(ConfigProblem) in
            config.jobs.retentionHours = try value.seconds(in: 0.001...87_600)
        },
        ConfigSetting(key: "jobs.max_kept", environment: "PODAGENT_JOBS_MAX_KEPT", summary: "finished jobs kept at most (oldest deleted first)") { config, value throws(ConfigProblem) in
            config.jobs.maxKept = try value.int(in: 1...1_000_000)
        },
    ]
}
