import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Hummingbird's HTTP/1.1 channel with podagent's connection limits: its idle timeout (Hummingbird's
/// own), a header timeout and a connection ceiling (``HeaderTimeoutHandler``, ``ConnectionGuard``),
/// and the cancellation of a request whose client went away (``RequestWatchHandler``).
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    /// The limits, as configured (`http.header_timeout`, `http.idle_timeout`, `http.max_connections`).
    struct Limits: Sendable {
        var headerTimeout: Duration
        var idleTimeout: Duration
        var maxConnections: Int
    }

    let limits: Limits
    let connections: ConnectionGuard
    /// The channel that serves the requests; the per-connection copies made in ``setup(channel:logger:)`` add the watch handler.
    private let http: HTTP1Channel

    init(responder: @escaping HTTPChannelHandler.Responder, limits: Limits, connections: ConnectionGuard) {
        self.limits = limits
        self.connections = connections
        // Each request is registered with its connection, so a disconnect cancels the task serving it.
        self.http = HTTP1Channel(responder: { request, writer, channel in
            let connection = connections.connection(channel)
            connection?.beginRequest()
            defer { connection?.endRequest() }
            try await responder(request, writer, channel)
        })
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let connections = self.connections
        let admitted = connections.open(channel)
        let connection = admitted ?? ClientConnection()
        channel.closeFuture.whenComplete { _ in
            connection.clientGone()
            connections.closed(channel)
        }
        let headerTimeout = HeaderTimeoutHandler(timeout: LoopTimer.amount(limits.headerTimeout), refuse: admitted == nil)
        let bound = NIOLoopBound(headerTimeout, eventLoop: channel.eventLoop)
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestWatchHandler(connections: connections, connection: connection, headerTimeout: bound.value)],
            idleTimeout: LoopTimer.amount(limits.idleTimeout))
        let perConnection = HTTP1Channel(responder: http.responder, configuration: configuration)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(bound.value, position: .first)
        }.flatMap {
            perConnection.setup(channel: channel, logger: logger)
        }
    }

    /// Serves the connection with its task pinned to the connection's event loop: what resumes the
    /// request's task from another thread (a worker's answer, read on its reader thread) wakes that one
    /// loop, which also writes the response, instead of whichever loop the group's executor picks next
    /// (one more thread hand-off per request, and the response's bytes made on another core).
    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(group: value.channel.eventLoop)) {
            await http.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with podagent's connection limits (see ``GuardedHTTP1Channel``).
    static func guardedHTTP1(limits: GuardedHTTP1Channel.Limits, connections: ConnectionGuard) -> HTTPServerBuilder {
        .init { responder in
            GuardedHTTP1Channel(responder: responder, limits: limits, connections: connections)
        }
    }
}
