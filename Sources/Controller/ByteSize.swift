/// A byte size given on the command line: `1048576`, `512K`, `1M`, `2G` (powers of 1024), or `none`.
public enum ByteSize {
    /// nil for `none` (no limit); throws for anything else that is not a size.
    public static func parse(_ text: String) throws(ControllerError) -> Int? {
        let lowered = text.lowercased()
        if lowered == "none" || lowered == "unlimited" { return nil }
        let units: [Character: Int] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        var digits = Substring(lowered)
        var scale = 1
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits = digits.dropLast()
        }
        if let value = Int(digits), value >= 0, value <= Int.max / scale {
            return value * scale
        }
        throw ControllerError(.usage, "'\(text)' is not a size: give bytes, or a number with K, M or G, or 'none'")
    }

    /// `1M`, `512K` or plain bytes, for messages.
    public static func format(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20)M" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10)K" }
        return "\(bytes)"
    }
}
