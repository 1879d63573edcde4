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
import Plugins
import PodAgentExtras

/// Writes `report.json` and `report.html` into a folder, each whole or not at all (temp, fsync, rename).
public enum ReportWriter {
    public static func encode(_ report: CompareReport) throws(CompareError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try encoder.encode(report) } catch {
            throw CompareError(.io, "cannot encode the report: \(error)")
        }
    }

    /// Returns the two paths written.
    @discardableResult
    public static func write(_ report: CompareReport, to directory: String) throws(CompareError) -> (json: String, html: String) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CompareError(.io, "\(directory): cannot create the report folder: \(errorText(error))")
        }
        let json = "\(directory)/report.json", html = "\(directory)/report.html"
        let encoded = try encode(report)
        do {
            try AtomicFile.write(Array(encoded) + [0x0A], to: json)
            try AtomicFile.write(ReportHTML.render(report), to: html)
        } catch {
            throw CompareError(.io, error.message)
        }
        return (json, html)
    }
}
