
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
