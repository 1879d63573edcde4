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

/// Writes to podagent's own stdout and stderr with POSIX `write`, ignoring failures.
///
/// Foundation's `FileHandle.write(_:)` traps when the write fails (a closed pipe, a full disk under a
/// redirected stream): podagent is PID 1, and a message must never be what kills it.
public enum StandardStream {
    /// Writes `text` to stdout, whole unless the stream fails.
    @Sendable public static func writeOutput(_ text: String) { write(text, to: STDOUT_FILENO) }

    /// Writes `text` to stderr, whole unless the stream fails.
    @Sendable public static func writeError(_ text: String) { write(text, to: STDERR_FILENO) }

    /// Writes `data` to `fd`, retrying on EINTR and short writes; gives up silently on any other error.
    public static func write(_ data: Data, to fd: Int32) {
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    static func write(_ text: String, to fd: Int32) { write(Data(text.utf8), to: fd) }
}
