#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// glibc and musl spell a few libc names differently in Swift: glibc's socket types are an enum
// (`SOCK_STREAM.rawValue`), musl's plain Int32. podagent is also built against musl (Swift's static
// Linux SDK, docs/images.md), so the modules above this one go through these names.

/// `SOCK_STREAM` as the Int32 that `socket()` and `addrinfo.ai_socktype` take.
public let socketTypeStream: Int32 = {
    #if canImport(Glibc)
    Int32(SOCK_STREAM.rawValue)
    #else
    Int32(SOCK_STREAM)
    #endif
}()

/// `SOCK_CLOEXEC` as an Int32 flag for `socket()`'s type.
public let socketFlagCloseOnExec: Int32 = {
    #if canImport(Glibc)
    Int32(SOCK_CLOEXEC.rawValue)
    #else
    Int32(SOCK_CLOEXEC)
    #endif
}()

/// `SOCK_NONBLOCK` as an Int32 flag for `socket()`'s type.
public let socketFlagNonBlocking: Int32 = {
    #if canImport(Glibc)
    Int32(SOCK_NONBLOCK.rawValue)
    #else
    Int32(SOCK_NONBLOCK)
    #endif
}()

/// errno's text for `code`.
public func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// Writes all of `buffer` to `fd`, retrying after EINTR and short writes; nil when done, else the errno.
public func writeFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < buffer.count {
        #if canImport(Glibc)
        let written = Glibc.write(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
        #else
        let written = Musl.write(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
        #endif
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += written
    }
    return nil
}

/// The temporary directory, ending in "/": `$TMPDIR` when set and not empty, else /tmp/ (what
/// Foundation's `NSTemporaryDirectory` answers on Linux, without needing all of Foundation).
public func temporaryDirectory() -> String {
    guard let value = getenv("TMPDIR"), value.pointee != 0 else { return "/tmp/" }
    let path = String(cString: value)
    return path.hasSuffix("/") ? path : path + "/"
}
