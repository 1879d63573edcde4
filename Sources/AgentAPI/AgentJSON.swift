#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the agent's API writes JSON, and so how its clients read it: sorted keys, slashes unescaped,
/// dates in ISO 8601 (jobs).
public enum AgentJSON {
    /// A new encoder with the API's settings (encoders are not shared across threads).
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// A new decoder with the API's settings.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// Decodes `body` as `T`, naming what was asked for in the error.
    public static func decode<T: Decodable>(_ type: T.Type, from body: Data, what: String) throws(AgentAPIError) -> T {
        do {
            return try decoder().decode(type, from: body)
        } catch {
            let shown = String(decoding: body.prefix(200), as: UTF8.self)
            throw AgentAPIError(.invalidAnswer, "\(what): not the answer the agent's API describes (\(Self.reason(error))): \(shown)")
        }
    }

    /// A decoding error in a few words: which key, and what was wrong with it.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "the body" : String(keys.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return parent == "the body" ? "\(key.stringValue) is missing" : "\(parent).\(key.stringValue) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
