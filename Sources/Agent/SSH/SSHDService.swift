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

/// Runs OpenSSH's sshd in the foreground (`-D -e`) as a supervised child and keeps it up:
/// restarted at once when it exits, with a growing delay while it keeps dying young.
///
/// Its state goes to readiness (part "sshd") and /metrics. ``reload()`` re-reads the configuration;
/// a configuration sshd -t refuses is reported and the running sshd is kept as it is.
public final class SSHDService: Service, Sendable {
    /// The readiness part name.
    public static let part = "sshd"

    enum Event: Sendable {
        case exited(generation: Int, status: ExitStatus)
        case ready(generation: Int)
        case notAccepting(generation: Int)
        case restartDue(generation: Int)
        case reload
        case stop
    }

    /// What /health shows about sshd beyond its state word.
    struct Facts: Sendable {
        var pid: pid_t?
        var restarts = 0
        var prepared: SSHDSetup.Prepared?
        var lastExit: String?
        var lastError: String?
        var portHeldBy: String?
        var port = 0
        var published = PartStatus(ready: false, state: "starting")
    }

    let supervisor: Supervisor
    let readiness: ReadinessRegistry
    let metrics: AgentMetrics
    /// Where the host keys are published for `GET /v2/ssh/host-keys`.
    let hostKeys: HostKeyBoard
    let stateDir: String
    let logger: Logger
    private let initialSettings: AgentConfig.SSH
    private let environment: [String: String]
    private let loadSettings: @Sendable () throws(AgentError) -> AgentConfig.SSH
    private let stopGrace: Duration
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    let facts = Mutex(Facts())
    /// Local ports of our own readiness probes, so their "connection closed" lines stay out of the log.
    let probePorts = Mutex<Set<Int>>([])
    /// Probes whose "kex_exchange_identification" line (which names no port) was not seen yet.
    let probesUnlogged = Mutex(0)

    /// - Parameters:
    ///   - environment: the pod's environment (keys and session variables come from it).
    ///   - stopGrace: how long sshd gets after SIGTERM on shutdown.
    ///   - loadSettings: reads the configuration again for ``reload()``.
    public init(
        settings: AgentConfig.SSH, environment: [String: String], stopGrace: Duration = .seconds(2),
        supervisor: Supervisor, readiness: ReadinessRegistry, metrics: AgentMetrics, hostKeys: HostKeyBoard, stateDir: String,
        logger: Logger, loadSettings: @escaping @Sendable () throws(AgentError) -> AgentConfig.SSH
    ) {
        self.supervisor = supervisor
        self.readiness = readiness
        self.metrics = metrics
        self.hostKeys = hostKeys
        self.stateDir = stateDir
        self.logger = logger
        self.initialSettings = settings
        self.environment = environment
        self.loadSettings = loadSettings
        self.stopGrace = stopGrace
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        hostKeys.publish(.preparing)
    }

    /// The running sshd's pid, if one runs.
    public var pid: pid_t? { facts.withLock { $0.pid } }

    /// Re-reads the configuration, prepares and checks it, and applies it (SIGHUP to sshd) only when sshd -t accepts it.
    public func reload() { continuation.yield(.reload) }

    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await self.supervise()
            } onGracefulShutdown: {
                self.continuation.yield(.stop)
            }
        } onCancel: {
            self.continuation.yield(.stop)
        }
    }

    private func setup(_ settings: AgentConfig.SSH) -> SSHDSetup {
        SSHDSetup(
            settings: settings, stateDir: stateDir, environment: environment,
            runner: CommandRunner(supervisor: supervisor), logger: logger)
    }

    private func supervise() async {
        var settings = initialSettings
        var backoff = RestartBackoff(resetAfter: .milliseconds(Int64(settings.restartResetAfter * 1000)))
        var child: Child?
        var generation = 0
        var startedAt = ContinuousClock.now
        var becameReady = false
        var failedStarts = 0
        var prepared = false
        facts.withLock { $0.port = settings.port }

        report(state: "starting", ready: false, reason: "preparing sshd")
        do {
            let result = try await setup(settings).prepare()
            facts.withLock { $0.prepared = result; $0.lastError = nil }
            hostKeys.publish(.ready(result.hostKeys.map(\.publicKey)))
            prepared = true
        } catch {
            hostKeys.publishFailure(error.message)
            logger.error("sshd not started: \(error.message)")
            facts.withLock { $0.lastError = error.message }
            report(state: "config_error", ready: false, reason: error.message)
        }

        func start() {
            generation += 1
            startedAt = .now
            becameReady = false
            do {
                let started = try launch(settings: settings, generation: generation)
                child = started
                facts.withLock { $0.pid = started.pid }
                // While sshd keeps failing, the reason keeps saying why until one start works.
                if failedStarts >= 3 {
                    report(state: "crash_loop", ready: false, reason: crashLoopReason(port: settings.port))
                } else {
                    report(state: "starting", ready: false, reason: facts.withLock { $0.portHeldBy }.map { "port \(settings.port) is held by \($0)" } ?? "sshd starting")
                }
            } catch {
                logger.error("cannot start sshd: \(error.message)")
                facts.withLock { $0.lastError = error.message }
                scheduleRestart(after: backoff.next(afterRunning: .zero), generation: generation)
            }
        }
        if prepared {
            let paths = setup(settings)
            await StaleSSHD(pidFile: paths.pidFile, configPath: paths.configPath, port: settings.port, logger: logger).clear()
            start()
        }

        loop: for await event in events {
            switch event {
            case .stop:
                break loop
            case .ready(let g) where g == generation:
                becameReady = true
                failedStarts = 0
                facts.withLock { $0.portHeldBy = nil }
                report(state: "running", ready: true)
            case .exited(let g, let status) where g == generation:
                child = nil
                let uptime = ContinuousClock.now - startedAt
                if !becameReady { failedStarts += 1 }
                let delay = backoff.next(afterRunning: uptime)
                let restarts = facts.withLock { facts -> Int in
                    facts.pid = nil
                    facts.restarts += 1
                    facts.lastExit = "\(status) after \(Self.seconds(uptime)) s"
                    return facts.restarts
                }
                metrics.count("sshd_restarts", help: "sshd restarts after it exited")
                logger.warning("sshd \(status); restarting \(delay == .zero ? "now" : "in \(delay)")", metadata: ["restarts": "\(restarts)"])
                let holder = facts.withLock { $0.portHeldBy }
                if failedStarts >= 3 {
                    report(state: "crash_loop", ready: false, reason: crashLoopReason(port: settings.port))
                } else {
                    report(state: "restarting", ready: false, reason: holder.map { "port \(settings.port) is held by \($0)" } ?? "sshd \(status)")
                }
                if delay == .zero { start() } else { scheduleRestart(after: delay, generation: generation) }
            case .notAccepting(let g) where g == generation && !becameReady:
                let holder = facts.withLock { $0.portHeldBy }
                report(state: "starting", ready: false, reason: "sshd runs but accepts no connection on 127.0.0.1:\(settings.port)"
                    + (holder.map { " (port \(settings.port) is held by \($0))" } ?? ""))
            case .restartDue(let g) where g == generation && child == nil:
                start()
            case .reload:
                do {
                    let fresh = try loadSettings()
                    let result = try await setup(fresh).prepare()
                    facts.withLock { $0.prepared = result; $0.lastError = nil }
                    hostKeys.publish(.ready(result.hostKeys.map(\.publicKey)))
                    republish()
                    let portChanged = fresh.port != settings.port
                    settings = fresh
                    facts.withLock { $0.port = fresh.port }
                    if let child {
                        logger.notice("sshd configuration reloaded", metadata: ["port_changed": "\(portChanged)"])
                        // sshd re-executes itself on SIGHUP and reads the checked file again.
                        child.signal(SIGHUP)
                        if portChanged { becameReady = false; probeReadiness(settings: settings, generation: generation, child: child) }
                    } else if !prepared {
                        prepared = true
                        start()
                    }
                } catch {
                    logger.error("sshd configuration not applied, the running sshd is kept: \(error.message)")
                    facts.withLock { $0.lastError = error.message }
                    if child == nil && !prepared {
                        report(state: "config_error", ready: false, reason: error.message)
                    } else {
                        republish()
                    }
                }
            default:
                continue  // an event about an earlier sshd
            }
        }

        if let child {
            await child.terminate(grace: stopGrace)
        }
        facts.withLock { $0.pid = nil }
        metrics.gauge("sshd_up", unit: "bool", help: "1 while sshd accepts connections", value: 0)
        report(state: "stopped", ready: false, reason: "podagent is stopping")
    }

    private func scheduleRestart(after delay: Duration, generation: Int) {
        let continuation = continuation
        Task {
            try? await Task.sleep(for: delay)
            continuation.yield(.restartDue(generation: generation))
        }
    }

    /// Spawns sshd, forwards its log lines, and watches for its exit and its first accepted connection.
    private func launch(settings: AgentConfig.SSH, generation: Int) throws(AgentError) -> Child {
        let spec = ProcessSpec(
            executable: settings.sshdPath, arguments: ["-D", "-e", "-f", setup(settings).configPath],
            environment: ["PATH": environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            stdin: .null, stdout: .null, stderr: .pipe)
        let child = try supervisor.spawn(spec)
        let logger = self.logger
        let port = settings.port
        if let stderr = child.stderr {
            PipeReader.forEachLine(stderr) { [self] raw in
                // sshd -e ends its lines with "\r\n".
                let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
                if line.contains("Address already in use") {
                    let holder = PortProbe.holder(ofPort: port) ?? "another process"
                    facts.withLock { $0.portHeldBy = holder }
                    logger.error("sshd cannot listen: port \(port) is already in use by \(holder)")
                }
                if isProbeNoise(line) { return }
                logger.info("\(line)", metadata: ["part": "sshd", "pid": "\(child.pid)"])
            }
        }
        let continuation = continuation
        Task {
            let status = await child.wait()
            continuation.yield(.exited(generation: generation, status: status))
        }
        probeReadiness(settings: settings, generation: generation, child: child)
        return child
    }

    /// Polls 127.0.0.1:port until sshd accepts a connection (or exits).
    private func probeReadiness(settings: AgentConfig.SSH, generation: Int, child: Child) {
        let continuation = continuation
        let port = settings.port
        Task { [self] in
            let deadline = ContinuousClock.now + .seconds(10)
            while child.exitStatus == nil {
                if ContinuousClock.now > deadline {
                    continuation.yield(.notAccepting(generation: generation))
                    return
                }
                if let local = PortProbe.connectLoopback(port: port) {
                    _ = probePorts.withLock { $0.insert(local) }
                    probesUnlogged.withLock { $0 += 1 }
                    continuation.yield(.ready(generation: generation))
                    return
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}
