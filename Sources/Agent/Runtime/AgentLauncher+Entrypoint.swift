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
import ServiceLifecycle
import Synchronization

extension AgentLauncher {
    /// The entrypoint's supervised parts, in start order: sshd, then the image's command.
    /// The service group stops them in reverse: the command first, sshd last.
    static func entrypointServices(
        agent: PodAgent, loader: ConfigLoader, command: [String], keepRunning: Bool, runtime: RuntimeBox
    ) -> (services: [any Service], sshd: SSHDService?, command: CommandService?) {
        let config = agent.config
        var services: [any Service] = []
        var sshd: SSHDService?
        if config.ssh.shouldRun(isRoot: getuid() == 0) {
            let service = SSHDService(
                agent: agent, settings: config.ssh, environment: loader.environment,
                stopGrace: .milliseconds(Int64(min(2, config.shutdownTimeout / 4) * 1000)),
                loadSettings: { () throws(AgentError) -> AgentConfig.SSH in try loader.load().ssh })
            services.append(service)
            sshd = service
        } else {
            let reason = config.ssh.enabled == .off ? "ssh.enabled is off" : getuid() != 0 ? "podagent is not root" : "\(config.ssh.sshdPath) is missing"
            agent.logger.info("sshd is not managed", metadata: ["reason": "\(reason)"])
            agent.hostKeys.publish(.notManaged(reason: "sshd is not managed by podagent (\(reason))"))
        }
        var commandService: CommandService?
        if !command.isEmpty {
            let logger = agent.logger
            let service = CommandService(
                agent: agent, command: command, keepRunning: keepRunning,
                grace: .milliseconds(Int64(config.shutdownTimeout * 500))
            ) { status in
                if keepRunning {
                    logger.notice("the command \(status); podagent keeps running (--keep-running)")
                } else {
                    logger.notice("the command \(status); podagent stops with its exit code \(status.shellCode)")
                    runtime.value?.shutdown()
                }
            }
            services.append(service)
            commandService = service
        }
        return (services, sshd, commandService)
    }
}

/// Where the signals podagent receives go: SIGTERM and SIGINT stop podagent (the command gets them
/// first), SIGHUP reloads sshd's configuration and reaches the command, the rest only reach the command.
final class SignalTargets: Sendable {
    private struct Targets {
        var sshd: SSHDService?
        var command: CommandService?
    }
    private let targets = Mutex(Targets())

    func set(sshd: SSHDService?, command: CommandService?) {
        targets.withLock { $0 = Targets(sshd: sshd, command: command) }
    }

    func deliver(_ signal: Int32, logger: Logger, shutdown: () -> Void) {
        let current = targets.withLock { $0 }
        switch signal {
        case SIGTERM, SIGINT:
            logger.notice("received signal \(signal): shutting down")
            current.command?.markShuttingDown()
            current.command?.forward(signal)
            shutdown()
        case SIGHUP:
            logger.notice("received SIGHUP: reloading the sshd configuration")
            current.command?.forward(signal)
            current.sshd?.reload()
        default:
            current.command?.forward(signal)
        }
    }
}
