import CShims

/// Fresh random identifiers: requests, their upload folders, jobs and one-shot run folders.
enum RandomID {
    /// A random (version 4) UUID in lowercase, from the system generator (`getrandom`): `UUID()`
    /// opens, reads and closes /dev/urandom for each one, three system calls on every inference request.
    /// The 16 bytes come from one `getrandom` call (two `SystemRandomNumberGenerator.next()` are two
    /// calls), and the text is written straight in lowercase hex (not `uuidString` then `lowercased()`).
    static func uuid() -> String {
        var bytes = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &bytes) { raw in
            // Short reads and EINTR cannot happen for 16 bytes once the pool is initialised; should the
            // call fail anyway (a seccomp filter), the standard library's generator fills them.
            if pa_random_bytes(raw.baseAddress, 16) != 0 {
                var generator = SystemRandomNumberGenerator()
                raw.storeBytes(of: generator.next() as UInt64, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: generator.next() as UInt64, toByteOffset: 8, as: UInt64.self)
            }
            raw[6] = (raw[6] & 0x0F) | 0x40  // version 4
            raw[8] = (raw[8] & 0x3F) | 0x80  // RFC 4122 variant
        }
        return withUnsafeBytes(of: &bytes) { raw in
            String(unsafeUninitializedCapacity: 36) { text in
                func hex(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10 }
                var at = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    text[at] = hex(raw[index] >> 4)
                    text[at + 1] = hex(raw[index] & 0x0F)
                    at += 2
                }
                return at
            }
        }
    }
}
