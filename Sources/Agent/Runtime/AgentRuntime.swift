import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import Synchronization

/// Runs one agent: its services in one `ServiceGroup`, the HTTP app listed last so it drains first on shutdown.
public final class AgentRuntime: Sendable {
    public let agent: PodAgent
    private let group = Mutex<ServiceGroup?>(nil)
    private let shutdownRequested = Mutex(false)

    public init(agent: PodAgent) {
        self.agent = agent
    }

    /// Runs until ``shutdown()``: then the HTTP server stops accepting, requests in flight finish
    /// (within the config's shutdown timeout), and the other services stop in reverse order.
    /// - Parameters:
    ///   - services: long-running parts started before the HTTP app (supervised children, pollers).
    ///   - router: the router to serve; nil builds the agent's own.
    ///   - onListening: called with the bound port once the server accepts connections.
    public func run(
        services: [any Service] = [], router: Router<BasicRequestContext>? = nil,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let http = agent.config.http
        let connections = ConnectionGuard(limit: ConnectionGuard.effectiveLimit(configured: http.maxConnections))
        if connections.limit < http.maxConnections {
            agent.logger.notice("http.max_connections lowered to \(connections.limit) to stay below the open-file limit")
        }
        let limits = GuardedHTTP1Channel.Limits(
            headerTimeout: .milliseconds(Int64(http.headerTimeout * 1000)), idleTimeout: .milliseconds(Int64(http.idleTimeout * 1000)),
            maxConnections: connections.limit)
        let app = Application(
            router: router ?? agent.buildRouter(),
            server: .guardedHTTP1(limits: limits, connections: connections),
            configuration: .init(
                address: .hostname(agent.bindHost, port: agent.config.http.port),
                serverName: "podagent/\(PodAgentVersion.current)",
                // A burst of connections (slow clients, say) waits in the kernel's queue rather than
                // overflowing it: an overflow drops a probe's SYN, and its retry comes a second later.
                backlog: 1024,
                // Accepting pauses only while more than a few evicted connections are still closing,
                // so a burst never runs podagent out of descriptors (and into accept's backoff).
                availableConnectionsDelegate: MaximumAvailableConnections(connections.limit + ConnectionGuard.closingMargin, logger: agent.logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: agent.logger)
        agent.logAPIProtection()
        let jobs: [any Service] = agent.jobs.map { [$0] } ?? []
        var configuration = ServiceGroupConfiguration(services: [agent.gpu] + services + jobs + [app], logger: agent.logger)
        configuration.maximumGracefulShutdownDuration = .milliseconds(Int64(agent.config.shutdownTimeout * 1000))
        configuration.maximumCancellationDuration = .seconds(2)
        let serviceGroup = ServiceGroup(configuration: configuration)
        let alreadyAsked = group.withLock { group in
            group = serviceGroup
            return shutdownRequested.withLock { $0 }
        }
        if alreadyAsked { await serviceGroup.triggerGracefulShutdown() }
        try await serviceGroup.run()
    }

    /// Starts a graceful shutdown (safe to call from any thread, before or during ``run(services:router:onListening:)``).
    public func shutdown() {
        let serviceGroup = group.withLock { group in
            shutdownRequested.withLock { $0 = true }
            return group
        }
        guard let serviceGroup else { return }
        Task { await serviceGroup.triggerGracefulShutdown() }
    }
}
