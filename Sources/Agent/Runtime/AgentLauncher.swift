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

/// What `podagent run` does, as a library call: load the configuration, become a proper parent
/// (PID 1 or child subreaper), start every service, and block until SIGTERM/SIGINT.
public enum AgentLauncher {
    /// Runs the agent until a termination signal; returns the exit code.
    /// - Throws: ``AgentError`` when the configuration, the state directory or the plugins cannot be
    ///   used: nothing has started then (podagent's command line prints it and exits 2).
    /// - Parameters:
    ///   - command: the image's own command (`podagent run -- CMD ARGS...`), run as a supervised child; empty for none.
    ///   - keepRunning: keep podagent up after `command` exits; otherwise its exit code becomes podagent's.
    ///   - announce: where the "listening on" line goes (stdout by default).
    public static func run(
        loader: ConfigLoader, command: [String] = [], keepRunning: Bool = false,
        announce: @escaping @Sendable (String) -> Void = announceOnStdout
    ) async throws(AgentError) -> Int32 {
        let config = try loader.load()
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

        let runtime = RuntimeBox()
        let targets = SignalTargets()
        let supervisor = Supervisor(reaping: .allChildren, logger: logger) { signal in
            targets.deliver(signal, logger: logger) { runtime.value?.shutdown() }
        }
        supervisor.start()
        let agent = PodAgent(
            config: config, stateDir: state.path, logger: logger, supervisor: supervisor, models: models, apiToken: apiToken, logFile: logFile)
        let agentRuntime = AgentRuntime(agent: agent)
        runtime.value = agentRuntime
        logger.info("podagent \(PodAgentVersion.current) starting", metadata: ["pid": "\(getpid())", "state_dir": "\(state.path)", "pid1": "\(isInit)"])
        let (services, sshd, commandService) = entrypointServices(
            agent: agent, loader: loader, command: command, keepRunning: keepRunning, runtime: runtime)
        targets.set(sshd: sshd, command: commandService)
        do {
            try await agentRuntime.run(services: [ModelChecksService(agent: agent), InferenceEngineService(agent: agent)] + services) { port in
                announce("podagent listening on http://\(agent.bindHost):\(port)")
            }
        } catch {
            logger.error("podagent stopped with an error: \(error)")
            await supervisor.endAllDescendants(grace: .milliseconds(Int64(config.shutdownTimeout * 250)))
            return 1
        }
        // What escaped the services' process groups, and orphans handed to podagent.
        let swept = await supervisor.endAllDescendants(grace: .milliseconds(Int64(min(1, config.shutdownTimeout / 4) * 1000)))
        if swept > 0 { logger.notice("ended \(swept) leftover processes") }
        logger.info("podagent stopped")
        if !keepRunning, let status = commandService?.exitStatus { return status.shellCode }
        return 0
    }
}

/// Writes the line unbuffered: scripts wait for it on a pipe.
@Sendable public func announceOnStdout(_ line: String) {
    StandardStream.writeOutput(line + "\n")
}

/// Lets the signal callback reach the runtime created after it.
final class RuntimeBox: Sendable {
    private let stored = Mutex<AgentRuntime?>(nil)

    var value: AgentRuntime? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
