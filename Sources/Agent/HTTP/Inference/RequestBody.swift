#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Plugins

/// Parsing request bodies (received by ``BodyIntake``) as JSON or multipart.
enum RequestBody {
    /// The deepest nesting a request body may have. Real inputs are a few levels deep; a limit far
    /// below the reader's own keeps a hostile body from reaching the deeper layers (job records,
    /// Foundation's coders) that give up on it with a kilobytes-long internal error.
    static let maxDepth = 64

    /// Parses `data` as one JSON document; the error names the line and column of the problem.
    static func json(_ data: Data, source: String = "request body") throws(AgentError) -> JSONValue {
        guard !data.isEmpty else { throw AgentError(.invalidArgument, "\(source): empty; expected a JSON object") }
        do {
            return try JSONReader.parse(Array(data), source: source, maxDepth: maxDepth)
        } catch {
            throw AgentError(.invalidArgument, withLineAndColumn(error.message, data: data))
        }
    }

    /// Rewrites the reader's "at byte N" as "at line L, column C (byte N)".
    static func withLineAndColumn(_ message: String, data: Data) -> String {
        guard let range = message.firstRange(of: "at byte ") else { return message }
        let digits = message[range.upperBound...].prefix { $0.isNumber }
        guard let offset = Int(digits), offset <= data.count else { return message }
        var line = 1
        var column = 1
        for byte in data.prefix(offset) {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        let end = message.index(range.upperBound, offsetBy: digits.count)
        return message[..<range.lowerBound] + "at line \(line), column \(column) (byte \(offset))" + message[end...]
    }

    /// A JSON object body, or a multipart body whose part `request` holds the JSON object and whose
    /// other parts are uploads referenced as `"upload:<part name>"`.
    static func object(_ data: Data, contentType: String?, allowedKeys: Set<String>) throws(AgentError) -> (JSONValue, [String: MultipartForm.Part]) {
        var parts: [String: MultipartForm.Part] = [:]
        var document: JSONValue
        if let contentType, let boundary = try MultipartForm.boundary(contentType: contentType) {
            let form = try MultipartForm.parse(data, boundary: boundary)
            guard let main = form["request"] else {
                throw AgentError(.invalidArgument, "multipart/form-data: the part named 'request' (the JSON request) is missing")
            }
            document = try json(main.body, source: "multipart part 'request'")
            for part in form.parts where part.name != "request" { parts[part.name] = part }
        } else {
            document = try json(data)
        }
        guard case .object(let members) = document else {
            throw AgentError(.invalidArgument, "request body: expected a JSON object, got \(document.kind)")
        }
        if let unknown = members.map(\.0).first(where: { !allowedKeys.contains($0) }) {
            throw AgentError(.invalidArgument, "request body: unknown key '\(unknown)' (expected \(allowedKeys.sorted().joined(separator: ", ")))")
        }
        return (document, parts)
    }
}
