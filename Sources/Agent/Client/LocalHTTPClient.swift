import Foundation

/// A small blocking HTTP/1.1 client for talking to the agent from inside the pod
/// (`podagent health`, Docker's HEALTHCHECK): no event loop to start, bounded by a timeout.
public struct LocalHTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    public var timeout: Duration
    public var bearerToken: String?

    public init(timeout: Duration = .seconds(5), bearerToken: String? = nil) {
        self.timeout = timeout
        self.bearerToken = bearerToken
    }

    /// GETs `url` (http only).
    /// - Throws: ``AgentError`` `.invalidArgument` for a URL it cannot use, `.unavailable` when nothing answers.
    public func get(_ url: String) throws(AgentError) -> Response {
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host, !host.isEmpty else {
            throw AgentError(.invalidArgument, "'\(url)' is not an http://host[:port]/path URL")
        }
        let port = components.port ?? 80
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let query = components.percentEncodedQuery.map { "?\($0)" } ?? ""
        let fd = try connect(host: host, port: port)
        defer { close(fd) }
        var request = "GET \(path)\(query) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nAccept: application/json\r\n"
        if let bearerToken { request += "Authorization: Bearer \(bearerToken)\r\n" }
        request += "\r\n"
        let sent = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        guard sent == request.utf8.count else { throw AgentError(.unavailable, "\(url): sending the request failed") }
        var raw = Data()
        while let chunk = readChunk(fd) { raw.append(chunk) }
        return try Self.parse(raw, url: url)
    }

    private func connect(host: String, port: Int) throws(AgentError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = socketTypeStream
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw AgentError(.unavailable, "\(host): cannot resolve: \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var current: UnsafeMutablePointer<addrinfo>? = first
        let seconds = timeout.components.seconds
        let micros = timeout.components.attoseconds / 1_000_000_000_000
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(micros))
        while let info = current {
            current = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | socketFlagCloseOnExec, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            // SO_SNDTIMEO bounds connect() as well on Linux.
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            if systemConnect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            lastError = errno
            close(fd)
        }
        throw AgentError(.unavailable, "\(host):\(port): cannot connect: \(String(cString: strerror(lastError)))")
    }

    static func parse(_ raw: Data, url: String) throws(AgentError) -> Response {
        let separator = Data("\r\n\r\n".utf8)
        guard let headerEnd = raw.range(of: separator) else {
            throw AgentError(.unavailable, "\(url): incomplete HTTP response (\(raw.count) bytes)")
        }
        let head = String(decoding: raw[raw.startIndex..<headerEnd.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw AgentError(.unavailable, "\(url): malformed status line '\(lines.first ?? "")'")
        }
        var body = Data(raw[headerEnd.upperBound...])
        let chunked = lines.contains { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }
        if chunked { body = dechunk(body) }
        return Response(status: status, body: body)
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
