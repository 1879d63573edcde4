/// Writes a ``JSONValue`` compactly in member order, numbers in their shortest round-trip form
/// (the same digits Python's `repr` gives), so exports are byte-stable and fast to produce.
public enum JSONWriter {
    /// The document as UTF-8 bytes.
    /// - Parameter nonFiniteAsNull: write NaN and infinities as null (a worker's raw output kept as it came).
    /// - Throws: ``PluginError`` `.invalidValue` when a number is not finite (JSON cannot hold it).
    public static func write(_ value: JSONValue, pretty: Bool = false, nonFiniteAsNull: Bool = false) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        try append(value, to: &out, indent: pretty ? 0 : nil, nonFiniteAsNull: nonFiniteAsNull)
        if pretty { out.append(0x0A) }
        return out
    }

    /// - Parameter nonFiniteAsNull: write NaN and infinities as null (as `JSONValue`'s `Encodable` does)
    ///   instead of throwing; for a model's raw output kept as it came.
    static func append(_ value: JSONValue, to out: inout [UInt8], indent: Int?, nonFiniteAsNull: Bool = false) throws(PluginError) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number):
            guard number.isFinite else {
                if nonFiniteAsNull { out.append(contentsOf: "null".utf8); return }
                throw PluginError(.invalidValue, "cannot write the non-finite number \(number) as JSON")
            }
            appendNumber(number, to: &out)
        case .string(let text): appendString(text, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            // Arrays of numbers stay on one line even when pretty: points and matrices read better.
            let flat = items.allSatisfy { if case .number = $0 { true } else { false } }
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                if let indent, !flat { newline(&out, indent + 1) }
                try append(item, to: &out, indent: indent.map { $0 + 1 }, nonFiniteAsNull: nonFiniteAsNull)
            }
            if let indent, !flat, !items.isEmpty { newline(&out, indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, (key, item)) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                if let indent { newline(&out, indent + 1) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(0x20) }
                try append(item, to: &out, indent: indent.map { $0 + 1 }, nonFiniteAsNull: nonFiniteAsNull)
            }
            if let indent, !members.isEmpty { newline(&out, indent) }
            out.append(UInt8(ascii: "}"))
        case .tensor(let tensor):
            try appendTensor(tensor, to: &out, nonFiniteAsNull: nonFiniteAsNull)
        }
    }

    /// A tensor as the nested lists its `tolist()` gives, written straight from its typed buffer.
    static func appendTensor(_ tensor: Tensor, to out: inout [UInt8], nonFiniteAsNull: Bool) throws(PluginError) {
        let shape = tensor.shape
        let isBool = tensor.dtype == .bool
        func element(_ offset: Int) throws(PluginError) {
            let number = tensor[flat: offset]
            if isBool {
                out.append(contentsOf: (number != 0 ? "true" : "false").utf8)
            } else if number.isFinite {
                appendNumber(number, to: &out)
            } else if nonFiniteAsNull {
                out.append(contentsOf: "null".utf8)
            } else {
                throw PluginError(.invalidValue, "cannot write the non-finite number \(number) as JSON")
            }
        }
        func list(_ axis: Int, _ offset: Int) throws(PluginError) {
            out.append(UInt8(ascii: "["))
            let stride = shape[(axis + 1)...].reduce(1, *)
            for index in 0..<shape[axis] {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                if axis == shape.count - 1 { try element(offset + index) } else { try list(axis + 1, offset + index * stride) }
            }
            out.append(UInt8(ascii: "]"))
        }
        if shape.isEmpty { try element(0) } else { try list(0, 0) }
    }

    private static func newline(_ out: inout [UInt8], _ level: Int) {
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: level * 2))
    }

    /// A finite number in its shortest round-trip form (`description`'s text), integral ones as integers.
    static func appendNumber(_ number: Double, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumNumberBytes) { buffer in
            let base = buffer.baseAddress.unsafelyUnwrapped
            out.append(contentsOf: UnsafeBufferPointer(start: base, count: writeNumber(number, to: base)))
        }
    }

    /// Room ``writeNumber(_:to:)`` needs at its destination (more than the text: see ``ShortestDouble``).
    static let maximumNumberBytes = ShortestDouble.room

    /// Writes a finite number's text at `destination`, which has ``maximumNumberBytes`` of room, and
    /// returns its length: integral values below 10^15 (labels, ids, counts) as integers, like Python
    /// ints; any other in `description`'s shortest round-trip digits (``ShortestDouble``).
    @inline(__always)
    static func writeNumber(_ number: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        if number.magnitude < 1e15, let integer = Int64(exactly: number) {
            return writeInteger(integer, to: destination)
        }
        return ShortestDouble.write(number, to: destination)
    }

    /// An integer's decimal digits.
    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            let base = buffer.baseAddress.unsafelyUnwrapped
            out.append(contentsOf: UnsafeBufferPointer(start: base, count: writeInteger(value, to: base)))
        }
    }

    /// Writes an integer's decimal digits (at most 20 bytes) at `destination`; returns how many.
    private static func writeInteger(_ value: Int64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        var magnitude = value.magnitude
        var digits = 1
        var power: UInt64 = 10
        while digits < 20 && magnitude >= power {
            digits += 1
            power = power &* 10
        }
        let sign = value < 0 ? 1 : 0
        if sign == 1 { destination[0] = UInt8(ascii: "-") }
        var position = sign + digits
        repeat {
            position -= 1
            destination[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        return sign + digits
    }

    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (keys, labels) need no escape: copy them whole.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
