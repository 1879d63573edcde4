#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Percentiles by linear interpolation between closest ranks (numpy's default), so p50 of [1, 2] is 1.5.
public enum Stats {
    public static func percentile(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = p / 100 * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    }
}
