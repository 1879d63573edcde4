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

/// podagent's configuration after every layer was applied: defaults < YAML file < `PODAGENT_*` environment < flags.
///
/// Every key is declared once in ``ConfigSchema``; the README's table lists them all.
public struct AgentConfig: Sendable, Equatable {
    /// The HTTP API's bind address and connection limits.
    public struct HTTP: Sendable, Equatable {
        public var host = "0.0.0.0"
        public var port = 8080
        /// Seconds a client may take to send a request's head once it started (408 and close after).
        public var headerTimeout: Double = 10
        /// Seconds an open connection may sit without a request (or with a stalled body) before it is closed.
        public var idleTimeout: Double = 60
        /// Open connections at most (also kept below the open-file limit); past it the connection that
        /// waited longest without a request is closed to make room.
        public var maxConnections = 1024
        /// Event loop threads: they serve HTTP and, in `podagent run`, run every Swift task of the
        /// agent (``ThreadBudget``), so the agent's threads do not grow with the host's cores.
        public var threads = ThreadBudget.defaultThreads
    }

    /// How podagent logs.
    public struct Log: Sendable, Equatable {
        public enum Format: String, Sendable, CaseIterable { case text, json }
        public var level: Logger.Level = .info
        public var format: Format = .text
        /// podagent's own log file (JSON lines): nil means `<state_dir>/podagent.log`, `off` none (see docs/gpu.md).
        public var file: String?
    }

    /// GPU monitoring.
    public struct GPU: Sendable, Equatable {
        /// Seconds between two GPU readings served by /health and /metrics.
        public var pollInterval: Double = 5
        /// Seconds one probe (NVML call or nvidia-smi run) may take before it is abandoned.
        public var probeTimeout: Double = 3
    }

    public var http = HTTP()
    /// Where podagent keeps what must survive restarts; nil means "choose the default" (see ``StateDirectory``).
    public var stateDir: String?
    /// Where the model plugin folders are.
    public var pluginsDir: String = AgentConfig.defaultPluginsDir()
    public var log = Log()
    public var gpu = GPU()
    /// Seconds the agent waits for requests in flight and children on shutdown before it exits anyway.
    public var shutdownTimeout: Double = 10
    /// The models to run, by manifest name (`all` for every manifest); empty runs none.
    public var models: [String] = []
    /// Where model checkpoints are; `validate` looks for each manifest's checkpoint file here.
    public var checkpointsDir: String = "/workspace/checkpoints"
    /// The managed OpenSSH server (see `AgentConfig+SSH.swift`).
    public var ssh = SSH()
    /// The HTTP API's token, limits and data roots (see `AgentConfig+API.swift`).
    public var api = API()
    /// Asynchronous jobs (see `AgentConfig+API.swift`).
    public var jobs = Jobs()
    /// The inference engine (see `AgentConfig+Inference.swift`).
    public var inference = Inference()

    public init() {}

    /// `/opt/podagent/plugins` in an image, else `./Plugins` in a source checkout.
    static func defaultPluginsDir() -> String {
        let installed = "/opt/podagent/plugins"
        if FileManager.default.fileExists(atPath: installed) { return installed }
        let checkout = FileManager.default.currentDirectoryPath + "/Plugins"
        if FileManager.default.fileExists(atPath: checkout) { return checkout }
        return installed
    }
}
