import Testing
@testable import Plugins

/// `ShortestDouble` must give `description`'s text exactly: the result's bytes are the schema's, and the
/// old writer took them from the standard library.
@Suite("Shortest round-trip digits: description's text without the standard library's formatter")
struct ShortestDoubleTests {
    func text(_ value: Double) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ShortestDouble.room) { buffer in
            let base = buffer.baseAddress!
            let count = ShortestDouble.write(value, to: base)
            return String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
        }
    }

    /// Every mismatch's bit pattern, so a failure names the values to look at.
    func mismatches(_ values: some Sequence<Double>) -> [UInt64] {
        var found: [UInt64] = []
        for value in values where text(value) != value.description {
            found.append(value.bitPattern)
            if found.count == 20 { break }
        }
        return found
    }

    @Test("every layout: decimal, integral with .0, leading zeros, both exponent forms, signs")
    func layouts() {
        let cases: [(Double, String)] = [
            (0.001, "0.001"), (0.0001, "0.0001"), (0.00012, "0.00012"), (1e-05, "1e-05"), (1.5e-7, "1.5e-07"),
            (123.456, "123.456"), (-0.1, "-0.1"), (100, "100.0"), (1e15, "1000000000000000.0"),
            (0x1.0p53, "9007199254740992.0"), (9007199254740994, "9.007199254740994e+15"), (1e16, "1e+16"),
            (1e22, "1e+22"), (1e23, "1e+23"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"), (-1e-100, "-1e-100"), (.leastNonzeroMagnitude, "5e-324"),
            (0.30000001192092896, "0.30000001192092896"), (1.0 / 3, "0.3333333333333333"), (0, "0.0"), (-0.0, "-0.0"),
            (.infinity, "inf"), (-.infinity, "-inf"), (.nan, "nan"),
        ]
        for (value, expected) in cases {
            #expect(text(value) == expected, "\(value.bitPattern)")
            #expect(text(value) == value.description, "\(value.bitPattern)")
        }
    }

    @Test("the text is at most 24 bytes and nothing is written past the room it asks for")
    func room() {
        var generator = SystemRandomNumberGenerator()
        let values: [Double] = [-Double.leastNormalMagnitude.nextDown, -9007199254740992, -0.00012345678901234567, -123456789012345.67, .leastNonzeroMagnitude, -Double.nan]
            + (0..<20_000).map { _ in Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator)) }
        for value in values {
            let (count, untouched) = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ShortestDouble.room + 16) { buffer in
                buffer.initialize(repeating: 0xEE)
                let count = ShortestDouble.write(value, to: buffer.baseAddress!)
                return (count, buffer[ShortestDouble.room...].allSatisfy { $0 == 0xEE })
            }
            #expect(count <= 24 && untouched, "\(value.bitPattern)")
        }
    }

    @Test("a million random bit patterns and a million float32 values")
    func random() {
        var generator = SystemRandomNumberGenerator()
        let doubles = (0..<1_000_000).lazy.map { _ in Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator)) }
        #expect(mismatches(doubles) == [])
        // The models' tensors are float32: their values widened to double are most of what is written.
        let floats = (0..<1_000_000).lazy.map { _ in Double(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator))) }
        #expect(mismatches(floats) == [])
    }

    @Test("every binary exponent: random significands, the power of two itself and its neighbours")
    func exponents() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = []
        for exponent in UInt64(0)...2046 {
            let power = Double(bitPattern: exponent << 52)
            values += [power, power.nextUp, power.nextDown, -power]
            for _ in 0..<200 {
                values.append(Double(bitPattern: exponent << 52 | UInt64.random(in: 0..<(1 << 52), using: &generator)))
            }
        }
        #expect(mismatches(values) == [])
    }

    @Test("powers of ten, their neighbours, short decimals and integers near 2^53")
    func decimals() {
        var values: [Double] = []
        for exponent in -323...308 {
            guard let power = Double("1e\(exponent)") else { continue }
            values += [power, power.nextUp, power.nextDown, 5 * power, 0.5 * power]
        }
        for integer in 1...20_000 {
            values += [Double(integer) / 1000, Double(integer) * 1e-7, Double(integer) * 1e11, Double(integer) * 0.1]
        }
        for offset in -2_000...2_000 {
            values.append(Double(Int64(1) << 53 + Int64(offset)))
            values.append(1e15 + Double(offset))
        }
        #expect(mismatches(values) == [])
    }

    @Test("the decimal is the shortest that reads back, and the closest of those")
    func decimalProperties() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let value = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator))
            guard value.isNormal, let decimal = ShortestDouble.decimal(value) else { continue }
            #expect(Double("\(decimal.significand)e\(decimal.exponent)") == value.magnitude, "\(value.bitPattern)")
        }
    }
}
