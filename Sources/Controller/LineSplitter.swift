/// Cuts one pod's stream into lines as chunks arrive, in time linear in the bytes received and with
/// bounded memory: every byte is scanned once, and a partial line longer than `maxPending` is handed
/// on in pieces of that size instead of growing (a pod may print 100 MB without a newline).
///
/// Lines end at `\n`; unless `splitOnCarriageReturn` is off (`--raw`), a `\r\n` pair or a lone `\r`
/// (progress bars redraw their line with it) ends a line too, so a pod can never move the cursor back
/// over the `name: ` prefix.
struct LineSplitter {
    /// A partial line is flushed in pieces of this many bytes.
    static let defaultMaxPending = 64 * 1024

    let maxPending: Int
    let splitOnCarriageReturn: Bool
    private var pending: [UInt8] = []
    /// The last chunk ended with `\r`: a `\n` that starts the next one belongs to it.
    private var afterCarriageReturn = false
    /// The current line was handed on in pieces and nothing followed yet: its terminator adds no empty line.
    private var continuedInPieces = false
    /// Bytes looked at so far, for the tests that check the work stays linear.
    private(set) var scanned = 0
    /// The most bytes held at once (below `maxPending` plus one chunk), for the tests that check memory.
    private(set) var peakPending = 0

    init(maxPending: Int = LineSplitter.defaultMaxPending, splitOnCarriageReturn: Bool = true) {
        self.maxPending = max(4, maxPending)
        self.splitOnCarriageReturn = splitOnCarriageReturn
    }

    /// Hands every line completed by `bytes` to `line` (without its terminator), and pieces of a
    /// partial line once it reaches `maxPending`.
    mutating func feed(_ bytes: [UInt8], line: (ArraySlice<UInt8>) -> Void) {
        var start = 0
        let count = bytes.count
        if afterCarriageReturn, count > 0 {
            afterCarriageReturn = false
            if bytes[0] == 0x0A { start = 1 }
        }
        var index = start
        bytes.withUnsafeBufferPointer { buffer in
            while index < count {
                let byte = buffer[index]
                if byte == 0x0A || (byte == 0x0D && splitOnCarriageReturn) {
                    let lineEnd = index
                    var loneReturn = false
                    if byte == 0x0D {
                        if index + 1 < count {
                            if buffer[index + 1] == 0x0A { index += 1 } else { loneReturn = true }
                        } else {
                            afterCarriageReturn = true
                            loneReturn = true
                        }
                    }
                    // A redraw starts with `\r`: the empty text before it is no line.
                    if !(loneReturn && lineEnd == start && pending.isEmpty) {
                        complete(bytes[start..<lineEnd], line: line)
                    }
                    index += 1
                    start = index
                    continue
                }
                index += 1
            }
        }
        scanned += count
        if start < count { append(bytes[start..<count], line: line) }
    }

    /// Hands on what is left (a last line without a terminator).
    mutating func finish(line: (ArraySlice<UInt8>) -> Void) {
        if !pending.isEmpty { line(pending[...]) }
        pending = []
        afterCarriageReturn = false
        continuedInPieces = false
    }

    private mutating func complete(_ tail: ArraySlice<UInt8>, line: (ArraySlice<UInt8>) -> Void) {
        defer { continuedInPieces = false }
        if pending.isEmpty, !tail.isEmpty {
            line(tail)
            return
        }
        append(tail, line: line)
        if !pending.isEmpty {
            line(pending[...])
            pending.removeAll(keepingCapacity: true)
        } else if !continuedInPieces {
            line(tail)  // an empty line
        }
    }

    /// Adds to the partial line, flushing whole pieces of `maxPending` bytes (cut on a UTF-8 boundary).
    private mutating func append(_ bytes: ArraySlice<UInt8>, line: (ArraySlice<UInt8>) -> Void) {
        pending.append(contentsOf: bytes)
        peakPending = max(peakPending, pending.count)
        var offset = 0
        while pending.count - offset >= maxPending {
            let cut = Self.boundary(in: pending, from: offset, length: maxPending)
            line(pending[offset..<cut])
            offset = cut
            continuedInPieces = true
        }
        if offset > 0 { pending.removeFirst(offset) }
    }

    /// `from + length`, moved back over UTF-8 continuation bytes (at most 3) so a character is not split.
    static func boundary(in bytes: [UInt8], from: Int, length: Int) -> Int {
        var cut = from + length
        var steps = 0
        while steps < 3, cut > from + 1, cut < bytes.count, bytes[cut] & 0xC0 == 0x80 {
            cut -= 1
            steps += 1
        }
        return steps == 3 && bytes[cut] & 0xC0 == 0x80 ? from + length : cut
    }
}
