import Foundation

/// Whole writes to a descriptor (retrying short writes), so lines from many pods never interleave.
public struct OutputWriter: Sendable {
    public let fd: Int32

    public static let stdout = OutputWriter(fd: 1)
    public static let stderr = OutputWriter(fd: 2)

    public init(fd: Int32) { self.fd = fd }

    public var isTerminal: Bool { isatty(fd) == 1 }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let written = Glibc.write(fd, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    public func write(_ text: String) { write(Array(text.utf8)) }
}
