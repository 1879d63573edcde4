/// What podctl does with control characters in a pod's output before printing it (streamed and `-b`).
///
/// Pod output is untrusted: an OSC sequence can retitle the terminal or write the clipboard (OSC 52),
/// `\r`, `\b` or a CSI cursor move can erase the `name: ` prefix and pass one pod's line off as another's.
/// By default only SGR sequences (colours, `ESC [ digits ; m`) pass, and a line that used one is ended
/// with a reset so its attributes cannot reach the next line's prefix; every other control character
/// is shown as `cat -v` shows it (`^[`, `^G`, `^?`, `M-^[` for the C1 controls U+0080-U+009F).
/// The same on a terminal and in a pipe: piped output is mostly read on a terminal later.
public enum OutputFilter: Sendable {
    /// Bytes as the pod sent them (`--raw`).
    case raw
    /// Colours kept, every other control character made visible (the default).
    case safe

    /// Appends `line` (no line terminator) to `out`, filtered.
    func append(_ line: ArraySlice<UInt8>, to out: inout [UInt8]) {
        guard self == .safe else {
            out.append(contentsOf: line)
            return
        }
        var coloured = false
        var runStart = line.startIndex
        var index = line.startIndex
        let end = line.endIndex
        while index < end {
            let byte = line[index]
            let special = byte < 0x20 || byte == 0x7F || (byte == 0xC2 && index + 1 < end && (0x80...0x9F).contains(line[index + 1]))
            if !special || byte == 0x09 {
                index += 1
                continue
            }
            out.append(contentsOf: line[runStart..<index])
            if byte == 0x1B, let sgrEnd = Self.sgrEnd(line, from: index) {
                out.append(contentsOf: line[index...sgrEnd])
                coloured = true
                index = sgrEnd + 1
            } else if byte == 0xC2 {
                out.append(contentsOf: [0x4D, 0x2D, 0x5E, line[index + 1] - 0x80 + 0x40])  // M-^X
                index += 2
            } else {
                out.append(contentsOf: [0x5E, byte == 0x7F ? 0x3F : byte + 0x40])  // ^X, ^?
                index += 1
            }
            runStart = index
        }
        out.append(contentsOf: line[runStart..<end])
        if coloured { out.append(contentsOf: Self.reset) }
    }

    static let reset: [UInt8] = [0x1B, 0x5B, 0x30, 0x6D]  // ESC [ 0 m

    /// The index of the `m` ending an SGR sequence (`ESC [` then digits, `;` and `:` only) at `start`.
    static func sgrEnd(_ line: ArraySlice<UInt8>, from start: Int) -> Int? {
        var index = start + 1
        guard index < line.endIndex, line[index] == 0x5B else { return nil }
        index += 1
        while index < line.endIndex {
            let byte = line[index]
            if byte == 0x6D { return index }
            guard (0x30...0x3B).contains(byte) else { return nil }  // 0-9 : ;
            index += 1
        }
        return nil
    }
}
