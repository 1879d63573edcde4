#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodAgentExtras
import Synchronization

/// A file descriptor podagent owns (a child's pipe end, a file it reads): closed once, by ``close()``
/// or when the last reference goes. Foundation's `FileHandle` does this too, but needs all of Foundation.
public final class DescriptorHandle: Sendable {
    public let fileDescriptor: Int32
    private let closed = Mutex(false)

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    deinit { close() }

    /// Writes all of `data`, resuming after interrupted and partial writes.
    /// - Throws: ``AgentError`` `.system` with the errno's text (EPIPE when the reader is gone).
    public func write(contentsOf data: Data) throws(AgentError) {
        if let failure = data.withUnsafeBytes({ writeFully(fileDescriptor, $0) }) {
            throw AgentError(.system, "write to descriptor \(fileDescriptor): \(errnoText(failure))")
        }
    }

    /// Everything up to EOF (what was read before a read error, if one comes).
    public func readToEnd() -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { readSome(fileDescriptor, $0) }
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count < 0, errno == EINTR {
                continue
            } else {
                return data
            }
        }
    }

    /// Closes the descriptor (once; later calls do nothing).
    public func close() {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if first { closeDescriptor(fileDescriptor) }
    }
}

// Free functions: inside the class, `read` and `close` would name its methods.
private func readSome(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
    read(fd, buffer.baseAddress, buffer.count)
}

private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
