import Foundation

/// One HTTP exchange with the agent, as the Compare code sees it.
public struct HTTPReply: Sendable {
    public var status: Int
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// How requests reach an agent: a base URL on this machine (podagent, or a tunnel's local end).
public protocol AgentTransport: Sendable {
    /// Sends `method path` with an optional JSON body; the bearer token is added by the transport.
    func send(method: String, path: String, body: Data?, timeout: Double) throws(CompareError) -> HTTPReply
}

/// A small blocking HTTP/1.1 client for `http://127.0.0.1:PORT` style base URLs.
///
/// Our own rather than libcurl so podagent (which links no libcurl) can use it too; one connection
/// per request (`Connection: close`), bounded by a timeout on every send and receive.
public struct HTTPAgentTransport: AgentTransport {
    public let host: String
    public let port: Int
    /// Sent as `Authorization: Bearer …`; never logged or put in error messages.
    let token: String?

    /// `baseURL` is `http://host:port` (no path); `token` may be nil when the agent has none configured.
    public init(baseURL: String, token: String?) throws(CompareError) {
        guard let components = URLComponents(string: baseURL), components.scheme == "http",
              let host = components.host, !host.isEmpty else {
            throw CompareError(.usage, "'\(baseURL)' is not an http://host:port URL")
        }
        self.host = host
        self.port = components.port ?? 80
        self.token = token
    }

    public var baseURL: String { "http://\(host):\(port)" }

    public func send(method: String, path: String, body: Data?, timeout: Double) throws(CompareError) -> HTTPReply {
        let fd = try connect(timeout: timeout)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nAccept: application/json\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        var request = Data(head.utf8)
        if let body { request.append(body) }
        try sendAll(fd, request, what: "\(method) \(path)")
        var raw = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { raw.append(contentsOf: buffer[0..<count]); continue }
            if count == 0 { break }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw CompareError(.timeout, "\(method) \(path) on \(baseURL): no answer within \(Int(timeout)) s")
            }
            throw CompareError(.transport, "\(method) \(path) on \(baseURL): \(String(cString: strerror(errno)))")
        }
        return try Self.parse(raw, what: "\(method) \(path) on \(baseURL)")
    }

    private func connect(timeout: Double) throws(CompareError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw CompareError(.transport, "\(host): cannot resolve: \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        let seconds = max(timeout, 0.001)
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        var lastError = ECONNREFUSED
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let info = current {
            current = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            // SO_SNDTIMEO bounds connect() too on Linux.
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            lastError = errno
            close(fd)
        }
        throw CompareError(.transport, "cannot connect to \(baseURL): \(String(cString: strerror(lastError)))")
    }

    private func sendAll(_ fd: Int32, _ data: Data, what: String) throws(CompareError) {
        var offset = 0
        while offset < data.count {
            let sent = data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress?.advanced(by: offset), data.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else {
                throw CompareError(.transport, "\(what): sending the request failed: \(String(cString: strerror(errno)))")
            }
            offset += sent
        }
    }

    static func parse(_ raw: Data, what: String) throws(CompareError) -> HTTPReply {
        guard let headerEnd = raw.range(of: Data("\r\n\r\n".utf8)) else {
            throw CompareError(.transport, "\(what): incomplete HTTP response (\(raw.count) bytes)")
        }
        let lines = String(decoding: raw[raw.startIndex..<headerEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw CompareError(.transport, "\(what): malformed status line '\(lines.first ?? "")'")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(raw[headerEnd.upperBound...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true { body = dechunk(body) }
        return HTTPReply(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: Data) -> Data {
        var output = Data()
        var index = data.startIndex
        let crlf = Data("\r\n".utf8)
        while let lineEnd = data.range(of: crlf, in: index..<data.endIndex) {
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            let end = data.index(start, offsetBy: size, limitedBy: data.endIndex) ?? data.endIndex
            output.append(data[start..<end])
            index = data.index(end, offsetBy: 2, limitedBy: data.endIndex) ?? data.endIndex
        }
        return output
    }
}
