#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A strict JSON reader (RFC 8259 plus Python's `NaN`/`Infinity`) whose errors give the byte offset.
public enum JSONReader {
    /// Parses a whole document.
    /// - Parameter maxDepth: the deepest nesting of arrays and objects accepted (at most 512).
    /// - Throws: ``PluginError`` `.malformedJSON` naming `source` and the offset of the problem.
    public static func parse(_ bytes: [UInt8], source: String = "input", maxDepth: Int = 512) throws(PluginError) -> JSONValue {
        // strtod needs a terminator after the last digit.
        var buffer = bytes
        buffer.append(0)
        return try buffer.withUnsafeBufferPointer { (pointer) throws(PluginError) -> JSONValue in
            var cursor = Cursor(bytes: pointer, end: bytes.count, source: source, maxDepth: min(maxDepth, 512))
            cursor.skipSpace()
            let value = try cursor.value(depth: 0)
            cursor.skipSpace()
            guard cursor.position == cursor.end else { throw cursor.fail("unexpected data after the document") }
            return value
        }
    }

    /// Parses UTF-8 text.
    public static func parse(_ text: String, source: String = "input") throws(PluginError) -> JSONValue {
        try parse(Array(text.utf8), source: source)
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        let end: Int
        let source: String
        let maxDepth: Int
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>, end: Int, source: String, maxDepth: Int) {
            self.bytes = bytes
            self.end = end
            self.source = source
            self.maxDepth = maxDepth
        }

        func fail(_ problem: String) -> PluginError {
            if position >= end {
                return PluginError(.malformedJSON, "\(source): truncated JSON: the document ends at byte \(end) before it is complete")
            }
            return PluginError(.malformedJSON, "\(source): invalid JSON at byte \(position): \(problem)")
        }

        mutating func skipSpace() {
            while position < end {
                switch bytes[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: String) throws(PluginError) {
            let expected = Array(literal.utf8)
            guard position + expected.count <= end else { position = end; throw fail("incomplete literal") }
            for offset in 0..<expected.count where bytes[position + offset] != expected[offset] {
                throw fail("unexpected character")
            }
            position += expected.count
        }

        mutating func value(depth: Int) throws(PluginError) -> JSONValue {
            guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
            guard position < end else { throw fail("expected a value") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "N"): try expect("NaN"); return .number(.nan)
            case UInt8(ascii: "I"): try expect("Infinity"); return .number(.infinity)
            case UInt8(ascii: "-") where position + 1 < end && bytes[position + 1] == UInt8(ascii: "I"):
                position += 1
                try expect("Infinity")
                return .number(-.infinity)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[position])))'")
            }
        }

        mutating func object(depth: Int) throws(PluginError) -> JSONValue {
            position += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if position < end, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipSpace()
                guard position < end, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let key = try string()
                skipSpace()
                guard position < end, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                skipSpace()
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard position < end else { throw fail("expected ',' or '}'") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func array(depth: Int) throws(PluginError) -> JSONValue {
            position += 1
            var items: [JSONValue] = []
            skipSpace()
            if position < end, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard position < end else { throw fail("expected ',' or ']'") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        }

        mutating func number() throws(PluginError) -> Double {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            let digitsStart = position
            while position < end, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
            guard position > digitsStart else { throw fail("expected digits") }
            if position < end, bytes[position] == UInt8(ascii: ".") {
                position += 1
                let fraction = position
                while position < end, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
                guard position > fraction else { throw fail("expected digits after '.'") }
            }
            if position < end, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < end, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                let exponent = position
                while position < end, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
                guard position > exponent else { throw fail("expected exponent digits") }
            }
            // The grammar was checked above; strtod converts exactly what was scanned.
            guard let base = bytes.baseAddress else { throw fail("empty buffer") }
            return base.advanced(by: start).withMemoryRebound(to: CChar.self, capacity: position - start + 1) { strtod($0, nil) }
        }

        mutating func string() throws(PluginError) -> String {
            position += 1
            var scalars: [UInt8] = []
            let start = position
            // Fast path: no escapes.
            while position < end {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                    position += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                position += 1
            }
            scalars.append(contentsOf: bytes[start..<position])
            while position < end {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    return String(decoding: scalars, as: UTF8.self)
                }
                guard byte >= 0x20 else { throw fail("control character in a string") }
                if byte != UInt8(ascii: "\\") { scalars.append(byte); position += 1; continue }
                position += 1
                guard position < end else { throw fail("incomplete escape") }
                let escaped = bytes[position]
                position += 1
                switch escaped {
                case UInt8(ascii: "\""): scalars.append(0x22)
                case UInt8(ascii: "\\"): scalars.append(0x5C)
                case UInt8(ascii: "/"): scalars.append(0x2F)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard position + 1 < end, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                    scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("invalid escape")
                }
            }
            throw fail("unterminated string")
        }

        mutating func hex4() throws(PluginError) -> UInt32 {
            guard position + 4 <= end else { position = end; throw fail("incomplete \\u escape") }
            var code: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw fail("invalid hex digit")
                }
                code = code << 4 | digit
                position += 1
            }
            return code
        }
    }
}
