/// A double's shortest round-trip decimal text, exactly as `Double.description` writes it, without a
/// String and faster than the standard library's digit generation, which was the largest single cost
/// of writing a VAD-sized standard result (~10,500 numbers; it multiplies through a 128-bit type that
/// is not inlined).
///
/// The digits come from Giulietti's Schubfach algorithm ("The Schubfach way to render doubles", 2020),
/// which finds, among the decimals that read back as the double, the shortest and of those the one
/// closest to it (a tie to an even last digit): the digits `description` gives. The text follows
/// `description`'s layout: `0.001`, `123.5`, `1000000000000000.0`, exponential below 1e-4 and above 2^53
/// (`1e-05`, `9.007199254740994e+15`, `5e+300`). Zeros, subnormals and non-finite values are left to the
/// standard library: they are rare, and the algorithm's scaling is set up for normal doubles.
/// `ShortestDoubleTests` compares the text with `description` for millions of values across every
/// binary exponent.
enum ShortestDouble {
    /// Room ``write(_:to:)`` needs at its destination: the text is at most 24 bytes, but the digits are
    /// stored eight at a time and may run past its end.
    static let room = 40

    /// Writes `value`'s text at `destination` (``room`` bytes writable) and returns its length.
    @inline(__always)
    static func write(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        guard value.isNormal, let (significand, exponent) = decimal(value) else {
            return writeDescription(value, to: destination)
        }
        return format(significand, exponent, negative: value.sign == .minus, exponential: value.magnitude > 0x1.0p53, at: destination)
    }

    /// The shortest, closest decimal `significand × 10^exponent` that reads back as `value` (normal, finite).
    static func decimal(_ value: Double) -> (significand: UInt64, exponent: Int)? {
        let biased = Int(value.exponentBitPattern)
        let c = (1 << 52) | value.significandBitPattern
        let q = biased - 1075
        // An integer below 2^53 is its own shortest form.
        if q < 0 && q > -53 {
            let integer = c >> UInt64(-q)
            if integer << UInt64(-q) == c { return (integer, 0) }
        }
        return schubfach(q: q, c: c)
    }

    // MARK: - Digits (Schubfach)

    private static let minimumK = -324

    /// The decimal for `c × 2^q`, c a normal double's 53-bit significand.
    private static func schubfach(q: Int, c: UInt64) -> (significand: UInt64, exponent: Int)? {
        let out: UInt64 = c & 1
        let cb = c << 2
        let cbr = cb + 2
        let cbl: UInt64
        let k: Int
        if c != 1 << 52 || q == -1074 {
            cbl = cb - 2
            k = floorLog10Pow2(q)
        } else {
            // At a power of two the double below is half as far away as the one above (not at the
            // smallest normal power, whose neighbour below is a subnormal as far away as the one above).
            cbl = cb - 1
            k = floorLog10ThreeQuartersPow2(q)
        }
        let h = q + floorLog2Pow10(-k) + 2
        let index = (k - minimumK) * 2
        let table = powersOfTen
        guard index >= 0, index + 1 < table.count, h > 0, h < 8 else { return nil }
        let g1 = table[index]
        let g0 = table[index + 1]
        let vb = roundToOdd(g1, g0, cb << UInt64(h))
        let vbl = roundToOdd(g1, g0, cbl << UInt64(h))
        let vbr = roundToOdd(g1, g0, cbr << UInt64(h))
        let s = vb >> 2
        // One digit fewer, if a multiple of ten lies in the interval (at most one can).
        let sp10 = s / 10 * 10
        let tp10 = sp10 + 10
        let upin = vbl + out <= sp10 << 2
        let wpin = (tp10 << 2) + out <= vbr
        if upin != wpin { return (upin ? sp10 : tp10, k) }
        let t = s + 1
        let uin = vbl + out <= s << 2
        let win = (t << 2) + out <= vbr
        if uin != win { return (uin ? s : t, k) }
        // Both in: the closer one, an even last digit on a tie.
        let cmp = Int64(bitPattern: vb &- ((s + t) << 1))
        return (cmp < 0 || (cmp == 0 && s & 1 == 0) ? s : t, k)
    }

    /// `g × cp / 2^127`, g = g1·2^63 + g0, rounded to odd (its low bit set when anything was cut).
    @inline(__always)
    private static func roundToOdd(_ g1: UInt64, _ g0: UInt64, _ cp: UInt64) -> UInt64 {
        let x1 = g0.multipliedFullWidth(by: cp).high
        let y = g1.multipliedFullWidth(by: cp)
        let z = (y.low >> 1) &+ x1
        let vbp = y.high &+ (z >> 63)
        let mask: UInt64 = (1 << 63) - 1
        return vbp | (((z & mask) &+ mask) >> 63)
    }

    /// ⌊e·log10(2)⌋: Giulietti's constants, exact far beyond a double's exponents (the tests sweep all of them).
    @inline(__always)
    private static func floorLog10Pow2(_ e: Int) -> Int { (e &* 661_971_961_083) >> 41 }

    /// ⌊log10(¾·2^e)⌋.
    @inline(__always)
    private static func floorLog10ThreeQuartersPow2(_ e: Int) -> Int { (e &* 661_971_961_083 &- 274_743_187_321) >> 41 }

    /// ⌊e·log2(10)⌋.
    @inline(__always)
    private static func floorLog2Pow10(_ e: Int) -> Int { (e &* 913_124_641_741) >> 38 }

    // MARK: - Text

    /// Writes `±significand × 10^exponent` in `description`'s layout at `destination`; returns the length.
    ///
    /// The digits are made in registers and only stored, never read back: the significand is scaled to
    /// exactly 17 digits (the trailing ones are zeros), converted eight at a time, and each layout stores
    /// those words where its digits go, later stores overwriting what ran past. (Building the text in
    /// scratch memory and copying it out stalled on every copy: a wide load of bytes just stored one at
    /// a time cannot be forwarded from the stores.)
    @inline(__always)
    private static func format(_ significand: UInt64, _ exponent: Int, negative: Bool, exponential: Bool,
                               at destination: UnsafeMutablePointer<UInt8>) -> Int {
        let digitCount = digitCount(significand)
        let scaled = significand &* powerOfTen(17 &- digitCount)
        let first = UInt8(truncatingIfNeeded: scaled / 10_000_000_000_000_000)
        let rest = scaled % 10_000_000_000_000_000
        let middle = digitLanes(UInt32(truncatingIfNeeded: rest / 100_000_000))
        let last = digitLanes(UInt32(truncatingIfNeeded: rest % 100_000_000))
        // Significant digits: 17 less the zeros at the end (the high lanes of the last words).
        let trailingZeros = last != 0 ? last.leadingZeroBitCount / 8 : (middle != 0 ? 8 + middle.leadingZeroBitCount / 8 : 16)
        let count = 17 - trailingZeros
        let low = middle &+ asciiZeros
        let high = last &+ asciiZeros
        let scientific = exponent + digitCount - 1

        var p = destination
        if negative {
            p.pointee = UInt8(ascii: "-")
            p += 1
        }
        let end: UnsafeMutablePointer<UInt8>
        if scientific < -4 || exponential {
            // "1.2345e-05", "5e+300"
            p[0] = UInt8(ascii: "0") &+ first
            var cursor = p + 1
            if count > 1 {
                p[1] = UInt8(ascii: ".")
                store(low, high, at: p + 2)
                cursor = p + 1 + count
            }
            cursor[0] = UInt8(ascii: "e")
            cursor[1] = scientific < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")
            cursor += 2
            var e = Int(scientific.magnitude)
            if e > 99 {
                cursor.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: e / 100)
                cursor += 1
                e %= 100
            }
            cursor[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: e / 10)
            cursor[1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: e % 10)
            end = cursor + 2
        } else if scientific < 0 {
            // "0.000123": "0." and up to three zeros, then the digits.
            UnsafeMutableRawPointer(p).storeBytes(of: 0x3030_3030_3030_2E30 as UInt64, as: UInt64.self)  // "0.000000"
            let digits = p + 1 - scientific
            digits.pointee = UInt8(ascii: "0") &+ first
            store(low, high, at: digits + 1)
            end = digits + count
        } else if scientific + 1 < count {
            // "123.456": the integer digits, the point, then the fraction's digits shifted past it.
            p.pointee = UInt8(ascii: "0") &+ first
            store(low, high, at: p + 1)
            p[scientific + 1] = UInt8(ascii: ".")
            let (fractionLow, fractionHigh) = shiftedRight(low, high, bytes: scientific)
            store(fractionLow, fractionHigh, at: p + scientific + 2)
            end = p + count + 1
        } else {
            // "1000000000000000.0": the scaled digits' own zeros fill up to the point (below 2^53 there
            // are at most 16 integer digits).
            p.pointee = UInt8(ascii: "0") &+ first
            store(low, high, at: p + 1)
            p[scientific + 1] = UInt8(ascii: ".")
            p[scientific + 2] = UInt8(ascii: "0")
            end = p + scientific + 3
        }
        return end - destination
    }

    private static let asciiZeros: UInt64 = 0x3030_3030_3030_3030

    /// Stores 16 digit characters (`low` first) at `destination`, unaligned.
    @inline(__always)
    private static func store(_ low: UInt64, _ high: UInt64, at destination: UnsafeMutablePointer<UInt8>) {
        let raw = UnsafeMutableRawPointer(destination)
        raw.storeBytes(of: low, as: UInt64.self)
        raw.storeBytes(of: high, toByteOffset: 8, as: UInt64.self)
    }

    /// The 16 characters in `low` then `high` (one a byte, the first in the lowest), less the first `bytes`.
    @inline(__always)
    private static func shiftedRight(_ low: UInt64, _ high: UInt64, bytes: Int) -> (UInt64, UInt64) {
        if bytes == 0 { return (low, high) }
        if bytes < 8 {
            let bits = UInt64(bytes * 8)
            return ((low >> bits) | (high << (64 - bits)), high >> bits)
        }
        return (high >> UInt64((bytes - 8) * 8), 0)
    }

    /// `n` (< 10^8) as eight digit values 0...9, one a byte of a little-endian word, the first digit in
    /// the lowest byte: split into halves of four digits, then pairs, then single digits, all lanes at
    /// once (multiplying by 10486/2^20 and by 103/2^10 divides by 100 and by 10 exactly in these ranges).
    @inline(__always)
    private static func digitLanes(_ n: UInt32) -> UInt64 {
        let high4 = n / 10_000
        let fours = UInt64(high4) | (UInt64(n &- high4 &* 10_000) << 32)
        let hundreds = ((fours &* 10_486) >> 20) & 0x0000_007F_0000_007F
        let pairs = hundreds | ((fours &- 100 &* hundreds) << 16)
        let tens = ((pairs &* 103) >> 10) & 0x000F_000F_000F_000F
        return tens | ((pairs &- 10 &* tens) << 8)
    }

    /// The number of decimal digits of `value` (1 ≤ value < 10^17); most have 16 or 17.
    @inline(__always)
    private static func digitCount(_ value: UInt64) -> Int {
        if value >= 10_000_000_000_000_000 { return 17 }
        if value >= 1_000_000_000_000_000 { return 16 }
        var count = 1
        var power: UInt64 = 10
        while value >= power {
            count += 1
            power &*= 10
        }
        return count
    }

    /// 10^exponent for 0 ≤ exponent ≤ 16.
    @inline(__always)
    private static func powerOfTen(_ exponent: Int) -> UInt64 {
        switch exponent {
        case 0: return 1
        case 1: return 10
        case 2: return 100
        default:
            var power: UInt64 = 1000
            for _ in 3..<exponent { power &*= 10 }
            return power
        }
    }

    /// The standard library's own text, for the values the fast path leaves alone (at most 24 bytes:
    /// "-2.2250738585072014e-308", "-nan" ...).
    private static func writeDescription(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 0
        for byte in value.description.utf8.prefix(32) {
            destination[count] = byte
            count += 1
        }
        return count
    }
}
