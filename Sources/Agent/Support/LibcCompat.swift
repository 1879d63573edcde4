#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// glibc and musl spell a few libc names differently in Swift: glibc's socket types are an enum
// (`SOCK_STREAM.rawValue`), musl's plain Int32. The images build podagent against musl (Swift's
// static Linux SDK, docs/images.md), so code that needs these goes through here.

/// `SOCK_STREAM` as the Int32 that `socket()` and `addrinfo.ai_socktype` take.
let socketTypeStream: Int32 = {
    #if canImport(Glibc)
    Int32(SOCK_STREAM.rawValue)
    #else
    Int32(SOCK_STREAM)
    #endif
}()

/// `SOCK_CLOEXEC` as an Int32 flag for `socket()`'s type.
let socketFlagCloseOnExec: Int32 = {
    #if canImport(Glibc)
    Int32(SOCK_CLOEXEC.rawValue)
    #else
    Int32(SOCK_CLOEXEC)
    #endif
}()

/// libc's `write(2)`, for code inside types that have a `write` of their own.
func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Musl.write(fd, buffer, count)
    #endif
}

/// libc's `connect(2)`, for code inside types that have a `connect` of their own.
func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.connect(fd, address, length)
    #else
    Musl.connect(fd, address, length)
    #endif
}
