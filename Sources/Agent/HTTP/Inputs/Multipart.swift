#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodAgentExtras

/// A strict `multipart/form-data` reader (RFC 7578): every part needs a `Content-Disposition: form-data`
/// header with a unique `name`; the body must end with the closing delimiter.
struct MultipartForm: Sendable {
    struct Part: Sendable {
        var name: String
        var filename: String?
        var contentType: String?
        var body: Data
    }

    /// Parts by name, in body order.
    var parts: [Part]

    static let maxParts = 256
    static let maxHeaderBytes = 8192

    subscript(name: String) -> Part? { parts.first { $0.name == name } }

    /// The boundary of a `multipart/form-data` content type; nil when the content type is another one.
    /// - Throws: ``AgentError`` `.invalidArgument` for multipart without a usable boundary.
    static func boundary(contentType: String) throws(AgentError) -> String? {
        if isSurelyNotMultipart(contentType) { return nil }
        let pieces = contentType.split(separator: ";").map { $0.trimmingSpace(newlines: false) }
        guard let type = pieces.first, type.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].trimmingSpace(newlines: false).lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingSpace(newlines: false)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count) else {
                throw AgentError(.invalidArgument, "multipart/form-data: the boundary must be 1 to 70 characters")
            }
            return value
        }
        throw AgentError(.invalidArgument, "multipart/form-data: the Content-Type has no boundary parameter")
    }

    /// True when `contentType` starts, in plain ASCII, with something other than `multipart/` (any
    /// case): `application/json` on nearly every request, answered from a few bytes instead of
    /// splitting, trimming and lowercasing. Anything else (a leading space, non-ASCII) goes the long way.
    static func isSurelyNotMultipart(_ contentType: String) -> Bool {
        let expected = "multipart/".utf8
        let head = contentType.utf8.prefix(expected.count)
        guard let first = head.first, (0x21...0x7E).contains(first), head.allSatisfy({ $0 < 0x80 }) else { return false }
        // ASCII letters lowercase to ASCII letters and nothing else lowercases to one of these.
        return !head.elementsEqual(expected) { byte, wanted in (byte | 0x20 == wanted && wanted >= UInt8(ascii: "a")) || byte == wanted }
    }

    /// Parses `body` split by `boundary`.
    /// - Throws: ``AgentError`` `.invalidArgument` naming the part and what is wrong with it.
    static func parse(_ body: Data, boundary: String) throws(AgentError) -> MultipartForm {
        let bytes = [UInt8](body)
        let dash = Array("--\(boundary)".utf8)
        let delimiter = Array("\r\n--\(boundary)".utf8)
        guard bytes.count >= dash.count, Array(bytes[0..<dash.count]) == dash else {
            throw AgentError(.invalidArgument, "multipart/form-data: the body does not start with the boundary delimiter")
        }
        var position = dash.count
        var parts: [Part] = []
        while true {
            if starts(bytes, at: position, with: Array("--".utf8)) { break }  // the closing delimiter
            guard starts(bytes, at: position, with: [13, 10]) else {
                throw AgentError(.invalidArgument, "multipart/form-data: part \(parts.count + 1): expected CRLF after the boundary")
            }
            position += 2
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: bytes, from: position, limit: maxHeaderBytes) else {
                throw AgentError(.invalidArgument, "multipart/form-data: part \(parts.count + 1): its headers do not end with an empty line (truncated body?)")
            }
            var part = try headers(bytes[position..<headerEnd], index: parts.count + 1)
            let bodyStart = headerEnd + 4
            guard let bodyEnd = find(delimiter, in: bytes, from: bodyStart) else {
                throw AgentError(.invalidArgument, "multipart/form-data: part '\(part.name)' is not closed by the boundary (truncated body?)")
            }
            part.body = Data(bytes[bodyStart..<bodyEnd])
            guard !parts.contains(where: { $0.name == part.name }) else {
                throw AgentError(.invalidArgument, "multipart/form-data: two parts are named '\(part.name)'")
            }
            parts.append(part)
            guard parts.count <= maxParts else {
                throw AgentError(.invalidArgument, "multipart/form-data: more than \(maxParts) parts")
            }
            position = bodyEnd + delimiter.count
        }
        return MultipartForm(parts: parts)
    }

    private static func headers(_ block: ArraySlice<UInt8>, index: Int) throws(AgentError) -> Part {
        var disposition: String?
        var contentType: String?
        for line in String(decoding: block, as: UTF8.self).components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else {
                throw AgentError(.invalidArgument, "multipart/form-data: part \(index): malformed header line '\(line.prefix(80))'")
            }
            let name = line[..<colon].trimmingSpace(newlines: false).lowercased()
            let value = line[line.index(after: colon)...].trimmingSpace(newlines: false)
            switch name {
            case "content-disposition": disposition = value
            case "content-type": contentType = value
            default: continue
            }
        }
        guard let disposition else {
            throw AgentError(.invalidArgument, "multipart/form-data: part \(index) has no Content-Disposition header")
        }
        let fields = dispositionFields(disposition)
        guard fields.type == "form-data" else {
            throw AgentError(.invalidArgument, "multipart/form-data: part \(index): Content-Disposition must be form-data, got '\(fields.type)'")
        }
        guard let name = fields.parameters["name"], !name.isEmpty else {
            throw AgentError(.invalidArgument, "multipart/form-data: part \(index): Content-Disposition has no name")
        }
        return Part(name: name, filename: fields.parameters["filename"], contentType: contentType, body: Data())
    }

    /// `form-data; name="a"; filename="b.jpg"` → ("form-data", [name: a, filename: b.jpg]); quoted values may hold `;`.
    static func dispositionFields(_ value: String) -> (type: String, parameters: [String: String]) {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in value {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted && character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ";" && !quoted {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        let type = pieces.first?.trimmingSpace(newlines: false).lowercased() ?? ""
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingSpace(newlines: false) }
            guard pair.count == 2 else { continue }
            parameters[pair[0].lowercased()] = pair[1]
        }
        return (type, parameters)
    }

    private static func starts(_ bytes: [UInt8], at position: Int, with prefix: [UInt8]) -> Bool {
        guard position + prefix.count <= bytes.count else { return false }
        for offset in 0..<prefix.count where bytes[position + offset] != prefix[offset] { return false }
        return true
    }

    /// The first index of `needle` in `bytes` at or after `from` (searching at most `limit` bytes).
    private static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int, limit: Int = .max) -> Int? {
        guard let first = needle.first, from <= bytes.count else { return nil }
        let last = min(bytes.count - needle.count, from > Int.max - limit ? Int.max : from + limit)
        guard last >= from else { return nil }
        var index = from
        while index <= last {
            if bytes[index] == first, starts(bytes, at: index, with: needle) { return index }
            index += 1
        }
        return nil
    }
}
