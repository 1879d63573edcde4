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
import PodAgentExtras

/// Plain HTTP/1.1 to an `http://` agent over one TCP connection per request (`Connection: close`).
///
/// Our own rather than URLSession or libcurl: podagent links neither (issue 17 keeps it on
/// FoundationEssentials), and the agent is on this machine or at a tunnel's local end. Every step
/// (connect, send, each read) waits at most until the request's deadline, so a silent or trickling
/// agent cannot hold the caller past its timeout; an answer larger than ``maxResponseBytes`` is refused.
public struct SocketTransport: AgentTransport {
    public let url: AgentURL
    /// The largest answer read (headers and body); a larger one is an error, never returned cut.
    public var maxResponseBytes: Int

    /// - Throws: ``AgentAPIError`` `.usage` for a URL that is not `http://host[:port][/prefix]`.
    public init(baseURL: String, maxResponseBytes: Int = 256 << 20) throws(AgentAPIError) {
        let url = try AgentURL(baseURL)
        guard url.scheme == "http" else {
            throw AgentAPIError(.usage, "'\(baseURL)': only http:// here (https goes through podctl's libcurl transport)")
        }
        self.url = url
        self.maxResponseBytes = maxResponseBytes
    }

    /// The agent at `http://127.0.0.1:port` (a tunnel's local end, or the agent in this pod).
    public init(loopbackPort port: Int, maxResponseBytes: Int = 256 << 20) {
        url = AgentURL(scheme: "http", host: "127.0.0.1", port: port)
        self.maxResponseBytes = maxResponseBytes
    }

    public var baseURL: String { url.description }

    public func send(_ request: AgentRequest) throws(AgentAPIError) -> AgentResponse {
        let what = "\(request.method) \(request.path) on \(baseURL)"
        let deadline = ContinuousClock.now + request.timeout
        let fd = try connect(deadline: deadline, what: what, timeout: request.timeout)
        defer { close(fd) }
        var head = "\(request.method) \(url.prefix)\(request.path) HTTP/1.1\r\nHost: \(url.hostForURL):\(url.port)\r\n"
        head += "Connection: close\r\nAccept: application/json\r\n"
        for (name, value) in request.headers {
            // A header value with a line break would smuggle another header (or a request).
            guard !name.contains(where: \.isNewline), !value.contains(where: \.isNewline) else {
                throw AgentAPIError(.usage, "\(what): header \(name) contains a line break")
            }
            head += "\(name): \(value)\r\n"
        }
        if let body = request.body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var bytes = Data(head.utf8)
        if let body = request.body { bytes.append(body) }
        try sendAll(fd, bytes, deadline: deadline, what: what, timeout: request.timeout)
        var parser = HTTPResponseParser(limit: maxResponseBytes)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            try wait(fd, for: Int16(POLLIN), until: deadline, what: what, timeout: request.timeout)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                throw AgentAPIError(.transport, "\(what): reading the answer failed: \(errnoText(errno))")
            }
            if count == 0 { return try parser.finish(what: what) }
            if let response = try parser.append(buffer[0..<count], what: what) { return response }
        }
    }

    /// A non-blocking TCP connection to the first address that accepts before `deadline`.
    private func connect(deadline: ContinuousClock.Instant, what: String, timeout: Duration) throws(AgentAPIError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = socketTypeStream
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw AgentAPIError(.transport, "cannot resolve \(url.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let info = current {
            current = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | socketFlagCloseOnExec | socketFlagNonBlocking,
                            info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            #if canImport(Glibc)
            let started = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            #else
            let started = Musl.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            #endif
            if started == 0 { return fd }
            guard errno == EINPROGRESS else { lastError = errno; close(fd); continue }
            do {
                try wait(fd, for: Int16(POLLOUT), until: deadline, what: "connecting to \(baseURL)", timeout: timeout)
            } catch {
                close(fd)
                throw error
            }
            var result: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &length)
            if result == 0 { return fd }
            lastError = result
            close(fd)
        }
        throw AgentAPIError(.transport, "cannot connect to \(baseURL): \(errnoText(lastError))")
    }

    private func sendAll(_ fd: Int32, _ data: Data, deadline: ContinuousClock.Instant, what: String, timeout: Duration) throws(AgentAPIError) {
        var offset = 0
        while offset < data.count {
            try wait(fd, for: Int16(POLLOUT), until: deadline, what: what, timeout: timeout)
            let sent = data.withUnsafeBytes { buffer in
                #if canImport(Glibc)
                Glibc.send(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset, Int32(MSG_NOSIGNAL))
                #else
                Musl.send(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset, Int32(MSG_NOSIGNAL))
                #endif
            }
            if sent < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                throw AgentAPIError(.transport, "\(what): sending the request failed: \(errnoText(errno))")
            }
            offset += sent
        }
    }

    /// Waits until `fd` is ready for `events` or has an error; throws `.timeout` at `deadline`.
    private func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant, what: String,
                      timeout: Duration) throws(AgentAPIError) {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw AgentAPIError(.timeout, "\(what): no answer within \(Self.seconds(timeout)) s")
            }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&entry, 1, Int32(min(left.inMilliseconds.rounded(.up), Double(Int32.max))))
            if rc > 0 { return }
            if rc < 0, errno != EINTR { throw AgentAPIError(.transport, "\(what): poll failed: \(errnoText(errno))") }
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let value = duration.inSeconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}
