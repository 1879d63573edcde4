#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads one HTTP/1.1 answer as its bytes arrive: status line, headers, then a body framed by
/// Content-Length, chunked transfer coding, or the end of the connection. Interim 1xx answers are skipped.
struct HTTPResponseParser {
    private enum Framing { case length(Int), chunked, untilClose }

    private var raw = Data()
    private var status = 0
    private var headers: [String: String] = [:]
    private var bodyStart: Int?
    private var framing = Framing.untilClose
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Takes more bytes; returns the answer once it is complete.
    mutating func append(_ bytes: ArraySlice<UInt8>, what: String) throws(AgentAPIError) -> AgentResponse? {
        guard raw.count + bytes.count <= limit else {
            throw AgentAPIError(.transport, "\(what): the answer is larger than \(limit) bytes")
        }
        raw.append(contentsOf: bytes)
        if bodyStart == nil { try readHead(what: what) }
        return try complete(atEnd: false, what: what)
    }

    /// The connection ended: the answer as far as it is complete, or why it is not.
    mutating func finish(what: String) throws(AgentAPIError) -> AgentResponse {
        if bodyStart == nil { try readHead(what: what) }
        guard bodyStart != nil else {
            throw AgentAPIError(.transport, "\(what): the connection closed before a whole HTTP answer came (\(raw.count) bytes)")
        }
        guard let response = try complete(atEnd: true, what: what) else {
            throw AgentAPIError(.transport, "\(what): the connection closed in the middle of the answer")
        }
        return response
    }

    private mutating func readHead(what: String) throws(AgentAPIError) {
        while bodyStart == nil, let end = raw.firstRange(of: Data("\r\n\r\n".utf8)) {
            let lines = String(decoding: raw[raw.startIndex..<end.lowerBound], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusLine = lines.first.map(String.init) ?? ""
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...599).contains(code) else {
                throw AgentAPIError(.transport, "\(what): not an HTTP answer (status line '\(statusLine.prefix(80))')")
            }
            if (100...199).contains(code) {
                raw.removeSubrange(raw.startIndex..<end.upperBound)
                continue
            }
            var fields: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[line[..<colon].lowercased()] = String(line[line.index(after: colon)...]).trimmedSpaces
            }
            status = code
            headers = fields
            bodyStart = end.upperBound - raw.startIndex
            if fields["transfer-encoding"]?.lowercased().contains("chunked") == true {
                framing = .chunked
            } else if let text = fields["content-length"] {
                guard let length = Int(text), length >= 0 else {
                    throw AgentAPIError(.transport, "\(what): a bad Content-Length '\(text.prefix(40))'")
                }
                framing = .length(length)
            } else {
                framing = .untilClose
            }
        }
    }

    private func complete(atEnd: Bool, what: String) throws(AgentAPIError) -> AgentResponse? {
        guard let bodyStart else { return nil }
        let body = raw[(raw.startIndex + bodyStart)...]
        switch framing {
        case .length(let length):
            guard body.count >= length else { return nil }
            return AgentResponse(status: status, headers: headers, body: Data(body.prefix(length)))
        case .chunked:
            guard let decoded = try Self.dechunk(body, what: what) else { return nil }
            return AgentResponse(status: status, headers: headers, body: decoded)
        case .untilClose:
            return atEnd ? AgentResponse(status: status, headers: headers, body: Data(body)) : nil
        }
    }

    /// The body of a chunked answer; nil while the last chunk has not arrived.
    static func dechunk(_ data: Data.SubSequence, what: String) throws(AgentAPIError) -> Data? {
        var output = Data()
        var index = data.startIndex
        let crlf = Data("\r\n".utf8)
        while true {
            guard let lineEnd = data[index...].firstRange(of: crlf) else { return nil }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(String(sizeText).trimmedSpaces, radix: 16), size >= 0 else {
                throw AgentAPIError(.transport, "\(what): a bad chunk size '\(sizeText.prefix(20))'")
            }
            let start = lineEnd.upperBound
            if size == 0 {
                // Trailer fields, if any, end with an empty line.
                return data[start...].firstRange(of: crlf) == nil ? nil : output
            }
            guard data.distance(from: start, to: data.endIndex) >= size + 2 else { return nil }
            let end = data.index(start, offsetBy: size)
            output.append(data[start..<end])
            index = data.index(end, offsetBy: 2)
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (FoundationEssentials has no `trimmingCharacters`).
    var trimmedSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
