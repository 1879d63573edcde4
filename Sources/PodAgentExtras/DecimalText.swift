#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `value` with `decimals` digits after the point, as printf's `%.*f` writes it (what
/// `String(format:)` was used for; that initializer needs all of Foundation).
public func decimalText(_ value: Double, decimals: Int) -> String {
    var buffer = [CChar](repeating: 0, count: 512)
    let count = withVaList([Int32(max(0, min(decimals, 40))), value]) { arguments in
        vsnprintf(&buffer, buffer.count, "%.*f", arguments)
    }
    guard count >= 0, count < buffer.count else { return "\(value)" }
    return String(decoding: buffer[0..<Int(count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
