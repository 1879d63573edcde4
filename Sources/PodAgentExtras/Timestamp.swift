#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// ISO 8601 times in UTC, with FoundationEssentials' format style (`ISO8601DateFormatter` needs all of Foundation).
public enum Timestamp {
    /// "2026-11-28T11:22:33.456Z".
    public static func withFraction(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// "2026-11-28T11:22:33Z".
    public static func seconds(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    /// "20261128T112233Z", for file names.
    public static func compact(_ date: Date = Date()) -> String {
        seconds(date).filter { $0 != "-" && $0 != ":" }
    }
}
