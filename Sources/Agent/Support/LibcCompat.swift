#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// glibc and musl spell a few libc names differently in Swift (the images build podagent against musl,
// Swift's static Linux SDK, docs/images.md); the socket names are in PodAgentExtras.

/// libc's `write(2)`, for code inside types that have a `write` of their own.
func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Musl.write(fd, buffer, count)
    #endif
}
