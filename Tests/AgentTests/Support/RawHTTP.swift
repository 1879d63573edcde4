import Foundation

@testable import Agent

/// One client TCP connection on loopback, driven byte by byte: for clients that misbehave on purpose
/// (slow heads, idle keep-alive, hanging up mid-request) and for requests LocalHTTPClient cannot send.
/// Blocking: use it from ``onThread(_:)``, never on the cooperative pool.
final class RawConnection: @unchecked Sendable {
    // @unchecked: one test thread uses a connection at a time.
    let fd: Int32
    private var pending = Data()

    struct Response: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data

        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }

    init(port: Int, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AgentError(.system, "socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw AgentError(.unavailable, "connect 127.0.0.1:\(port): \(message)")
        }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws { try send(Data(text.utf8)) }

    func send(_ data: Data) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let sent = Glibc.send(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw AgentError(.unavailable, "send: \(String(cString: strerror(errno)))")
                }
                offset += sent
            }
        }
    }

    /// Sends one request; `body` gets a Content-Length.
    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(head)
        if let body { try send(body) }
    }

    /// Reads one response (Content-Length or chunked body).
    func readResponse() throws -> Response {
        while pending.range(of: Data("\r\n\r\n".utf8)) == nil { try fill() }
        guard let end = pending.range(of: Data("\r\n\r\n".utf8)) else { throw AgentError(.unavailable, "no head") }
        let head = String(decoding: pending[pending.startIndex..<end.lowerBound], as: UTF8.self)
        pending = Data(pending[end.upperBound...])
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data()
        if let length = headers["content-length"].flatMap(Int.init) {
            while pending.count < length { try fill() }
            body = Data(pending.prefix(length))
            pending = Data(pending.dropFirst(length))
        } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                while pending.range(of: Data("\r\n".utf8)) == nil { try fill() }
                guard let lineEnd = pending.range(of: Data("\r\n".utf8)) else { break }
                let size = Int(String(decoding: pending[pending.startIndex..<lineEnd.lowerBound], as: UTF8.self)
                    .split(separator: ";").first ?? "", radix: 16) ?? 0
                pending = Data(pending[lineEnd.upperBound...])
                while pending.count < size + 2 { try fill() }
                body.append(pending.prefix(size))
                pending = Data(pending.dropFirst(size + 2))
                if size == 0 { break }
            }
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// True once the server closed the connection (EOF or reset) within `timeout` seconds.
    func waitClosed(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, 100) == 1 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET || errno == EPIPE }
        }
        return false
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        if count > 0 {
            pending.append(contentsOf: buffer[0..<count])
        } else if count == 0 {
            throw AgentError(.unavailable, "the server closed the connection")
        } else {
            throw AgentError(.unavailable, "recv: \(String(cString: strerror(errno)))")
        }
    }

    /// One request on a fresh connection.
    static func exchange(
        port: Int, _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:], timeout: Double = 60
    ) throws -> Response {
        let connection = try RawConnection(port: port, timeout: timeout)
        try connection.request(method, path, body: body, headers: headers.merging(["Connection": "close"]) { a, _ in a })
        return try connection.readResponse()
    }
}

/// Runs blocking `work` on a thread of its own (not the cooperative pool) and returns its result.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }.start()
    }
}

/// JSON bytes for a request body.
func jsonData(_ object: Any) throws -> Data {
    try JSONSerialization.data(withJSONObject: object)
}
