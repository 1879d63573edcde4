#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension StandardResult {
    /// The result as JSON: sorted keys, so it is stable to diff and compare with goldens.
    /// Compact output comes from ``jsonBytes()``; pretty output from `JSONEncoder`.
    public func jsonData(pretty: Bool = false) throws(PluginError) -> Data {
        if !pretty { return Data(try jsonBytes()) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            return try encoder.encode(self)
        } catch {
            throw PluginError(.invalidValue, "cannot encode the result as JSON: \(error)")
        }
    }

    /// Reads a result written by ``jsonData(pretty:)``.
    public static func decode(_ data: Data) throws(PluginError) -> StandardResult {
        do {
            return try JSONDecoder().decode(StandardResult.self, from: data)
        } catch {
            throw PluginError(.malformedJSON, "not a standard result: \(describe(error))")
        }
    }

    /// A decoding error as the field it is about and what is wrong there:
    /// `map_elements[1].polyline_lidar: ragged point list: …`.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        let path: [any CodingKey], problem: String
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            (path, problem) = (context.codingPath, context.debugDescription)
        case .keyNotFound(let key, let context):
            (path, problem) = (context.codingPath + [key], "missing")
        @unknown default:
            return "\(error)"
        }
        let field = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }
        return (field.isEmpty ? "the document" : String(field)) + ": " + problem
    }
}
