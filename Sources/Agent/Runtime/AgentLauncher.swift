import CShims
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
import Synchronization

/// What `podagent run` does, as a library call: with the loaded configuration, become a proper parent
/// (PID 1 or child subreaper), start every service, and block until SIGTERM/SIGINT.
public enum AgentLauncher {
    /// Runs the agent until a termination signal; returns the exit code.
    ///
    /// The caller must have blocked the supervised signals in every thread first
    /// (``SignalMask/blockForSupervisor()``): the supervisor's thread takes them.
    /// - Throws: ``AgentError`` when the state directory or the plugins cannot be used: nothing has
    ///   started then (podagent's command line prints it and exits 2).
    /// - Parameters:
    ///   - config: the configuration `loader` loaded; the caller reads it once (its `http.threads`
    ///     sizes the event loops before this runs), and this does not read it again at start.
    ///   - loader: where `config` came from: its environment, and SIGHUP's re-read of the ssh settings.
    ///   - command: the image's own command (`podagent run -- CMD ARGS...`), run as a supervised child; empty for none.
    ///   - keepRunning: keep podagent up after `command` exits; otherwise its exit code becomes podagent's.
    ///   - announce: where the "listening on" line goes (stdout by default).
    public static func run(
        config: AgentConfig, loader: ConfigLoader, command: [String] = [], keepRunning: Bool = false,
        announce: @escaping @Sendable (String) -> Void = announceOnStdout
    ) async throws(AgentError) -> Int32 {
        let state = try StateDirectory.resolve(configured: config.stateDir)
        let models = try ModelCatalog.load(config: config)
        // The log file feeds `podagent diagnose`; podagent runs without it when it cannot be opened.
        var logFileProblem: String?
        var logFile: LogFile?
        if let path = LogFile.resolve(configured: config.log.file, stateDir: state.path) {
            do { logFile = try LogFile(path: path) } catch { logFileProblem = error.message }
        }
        let logger = LogSetup.bootstrap(level: config.log.level, format: config.log.format, file: logFile)
        if let logFileProblem { logger.warning("\(logFileProblem): logging to stderr only") }
        if let warning = state.warning { logger.warning("\(warning)") }
        for name in loader.unknownEnvironment {
            logger.warning("ignoring unknown environment variable \(name)")
        }
        let apiToken: APIToken?
        do {
            apiToken = try APIToken.load(environment: loader.environment, tokenFile: config.api.tokenFile, logger: logger)
        } catch {
            logger.error("\(error.message)")
            return error.programExit.rawValue
        }
        pa_ignore_sigpipe()
        _ = pa_raise_nofile_limit()
        let isInit = getpid() == 1
        if !isInit {
            let rc = pa_set_child_subreaper()
            if rc != 0 { logger.warning("cannot become child subreaper: \(String(cString: strerror(rc)))") }
        }

        let supervisor = Supervisor(reaping: .allChildren, logger: logger)
        supervisor.start()
        logger.info("podagent \(PodAgentVersion.current) starting", metadata: ["pid": "\(getpid())", "state_dir": "\(state.path)", "pid1": "\(isInit)"])
        let setup = AgentSetup(
            config: config, stateDir: state.path, logger: logger, supervisor: supervisor, models: models, apiToken: apiToken,
            logFile: logFile, environment: loader.environment,
            reloadSSH: { () throws(AgentError) -> AgentConfig.SSH in try loader.load().ssh }, command: command, keepRunning: keepRunning)
        let bindHost = setup.bindHost
        let application = buildApplication(setup) { port in
            announce("podagent listening on http://\(bindHost):\(port)")
        }
        do {
            try await application.run()
        } catch {
            logger.error("podagent stopped with an error: \(error)")
            await supervisor.endAllDescendants(grace: .seconds(config.shutdownTimeout / 4))
            return 1
        }
        // What escaped the services' process groups, and orphans handed to podagent.
        let swept = await supervisor.endAllDescendants(grace: .seconds(min(1, config.shutdownTimeout / 4)))
        if swept > 0 { logger.notice("ended \(swept) leftover processes") }
        logger.info("podagent stopped")
        if !keepRunning, let status = application.commandExit { return status.shellCode }
        return 0
    }
}

/// Writes the line unbuffered: scripts wait for it on a pipe.
@Sendable public func announceOnStdout(_ line: String) {
    StandardStream.writeOutput(line + "\n")
}
