import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The first handler of each connection (before HTTP decoding): bounds the time a client may take to
/// send a request's head once its first byte arrived, and answers a connection ``ConnectionGuard``
/// turned away. Hummingbird's idle timeout cannot do the first: a head that trickles in produces no
/// HTTP part until it is whole, so a byte every few seconds would keep a connection forever.
final class HeaderTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let refuse: Bool
    private var awaitingHead = true
    private var timer: Scheduled<Void>?
    /// A 408 or 503 was written; the connection only drains until it closes.
    private var answered = false

    init(timeout: TimeAmount, refuse: Bool) {
        self.timeout = timeout
        self.refuse = refuse
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if refuse, context.channel.isActive { turnAway(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if refuse { turnAway(context) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Answered already: what the client still sends is read and dropped until it closes.
        if answered { return }
        if awaitingHead, timer == nil, !refuse {
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                guard awaitingHead else { return }
                answer(context, status: "408 Request Timeout")
            }
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// The request's head was decoded: its time is no longer bounded here.
    func headReceived() {
        awaitingHead = false
        timer?.cancel()
        timer = nil
    }

    /// The request's body ended: the next bytes start the next head.
    func requestEnded() {
        awaitingHead = true
    }

    private func turnAway(_ context: ChannelHandlerContext) {
        answer(context, status: "503 Service Unavailable", retryAfter: true)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if answered, let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Writes a bodyless answer straight to the socket (this handler sits before the HTTP encoder),
    /// then closes our side and drops what the client still sends until it closes too (at most a
    /// second): closing with unread input would reset the connection, and the client could lose the answer.
    private func answer(_ context: ChannelHandlerContext, status: String, retryAfter: Bool = false) {
        guard !answered else { return }
        answered = true
        let text = "HTTP/1.1 \(status)\r\nConnection: close\r\nContent-Length: 0\r\n" + (retryAfter ? "Retry-After: 1\r\n" : "") + "\r\n"
        let buffer = context.channel.allocator.buffer(string: text)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        }
    }
}

/// Watches each connection's requests after HTTP decoding: tells the ``ConnectionGuard`` when the
/// connection serves a request and when it waits, restarts the header timer per request, and cancels
/// the request in progress when the client goes away (input closed, connection dropped).
final class RequestWatchHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let connections: ConnectionGuard
    private let connection: ClientConnection
    private let headerTimeout: HeaderTimeoutHandler

    init(connections: ConnectionGuard, connection: ClientConnection, headerTimeout: HeaderTimeoutHandler) {
        self.connections = connections
        self.connection = connection
        self.headerTimeout = headerTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            headerTimeout.headReceived()
            connections.busy(context.channel)
        case .body:
            break
        case .end:
            headerTimeout.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { connections.idle(context.channel) }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            connection.clientGone()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.clientGone()
        connections.closed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset connection: the client is gone.
        if error is IOError { connection.clientGone() }
        context.fireErrorCaught(error)
    }
}
