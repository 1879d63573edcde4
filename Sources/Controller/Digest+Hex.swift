import Crypto

extension Digest {
    /// The digest as lowercase hex, as `sha256sum` prints it (swift-crypto computes it; this only spells it).
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in self { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
        return String(decoding: text, as: UTF8.self)
    }
}
