/// Where a pod's kept output (for `-b`, `--json` and health) was cut: the bytes after `at` in the kept
/// copy follow the `dropped` bytes that were not kept.
public struct OutputCut: Sendable, Hashable, Codable {
    /// Offset in the kept bytes where the gap is (the end of the kept head).
    public var at: Int
    /// Bytes the pod sent that were not kept.
    public var dropped: Int
}

/// One stream of one pod, kept up to a limit: the first half and the last half of the limit, so both how a
/// command started and how it ended survive. Memory stays at `limit` bytes whatever the pod prints.
struct CappedOutput {
    /// `nil` keeps everything.
    let limit: Int?
    private var head: [UInt8] = []
    /// A ring of the latest bytes once the head is full.
    private var tail: [UInt8] = []
    private var tailStart = 0
    private(set) var total = 0

    init(limit: Int?) { self.limit = limit }

    private var headLimit: Int { limit.map { ($0 + 1) / 2 } ?? .max }
    private var tailLimit: Int { limit.map { $0 / 2 } ?? 0 }

    mutating func append(_ bytes: [UInt8]) {
        total += bytes.count
        var rest = bytes[...]
        if head.count < headLimit {
            let take = min(headLimit - head.count, rest.count)
            head.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
        }
        guard !rest.isEmpty, tailLimit > 0 else { return }
        if rest.count >= tailLimit {
            tail = Array(rest.suffix(tailLimit))
            tailStart = 0
            return
        }
        if tail.count < tailLimit {
            let room = tailLimit - tail.count
            tail.append(contentsOf: rest.prefix(room))
            rest = rest.dropFirst(room)
        }
        // The ring is full: overwrite the oldest bytes, in at most two copies.
        while !rest.isEmpty {
            let count = min(tailLimit - tailStart, rest.count)
            tail.replaceSubrange(tailStart..<(tailStart + count), with: rest.prefix(count))
            tailStart = (tailStart + count) % tailLimit
            rest = rest.dropFirst(count)
        }
    }

    /// The kept bytes in order, and where the gap is when something was dropped.
    func result() -> (bytes: [UInt8], cut: OutputCut?) {
        let ordered = Array(tail[tailStart...] + tail[..<tailStart])
        let kept = head.count + ordered.count
        let cut = total > kept ? OutputCut(at: head.count, dropped: total - kept) : nil
        return (head + ordered, cut)
    }
}

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
