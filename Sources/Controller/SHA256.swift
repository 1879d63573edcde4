import Crypto
import Foundation

/// SHA-256, streaming, for verifying transfers against the pod's `sha256sum` (swift-crypto underneath).
public struct SHA256: Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        hasher.update(data: Array(bytes))
    }

    /// Without copying: file chunks.
    public mutating func update(_ data: Data) {
        hasher.update(data: data)
    }

    /// Without copying: SFTP read buffers.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: buffer)
    }

    /// The digest as lowercase hex, as `sha256sum` prints it.
    public mutating func finalizeHex() -> String {
        hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }
}
