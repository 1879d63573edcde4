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
            throw PluginError(.malformedJSON, "not a standard result: \(error)")
        }
    }
}
