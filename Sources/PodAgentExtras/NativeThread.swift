#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts threads of podagent's own without Foundation's `Thread` (which needs all of Foundation).
public enum NativeThread {
    /// Runs `body` on a new detached thread named `name` (Linux shows the first 15 bytes in
    /// /proc/PID/task/TID/comm). A thread that cannot be created is a broken process: it traps.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(NativeThreadContext(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, nativeThreadEntry, context)
        guard rc == 0 else {
            Unmanaged<NativeThreadContext>.fromOpaque(context).release()
            fatalError("\(name): pthread_create failed with errno \(rc)")
        }
        pthread_detach(thread)
    }
}

private final class NativeThreadContext: Sendable {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}

private func nativeThreadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let raw else { return nil }
    let context = Unmanaged<NativeThreadContext>.fromOpaque(raw).takeRetainedValue()
    nameThisThread(context.name)
    context.body()
    return nil
}

/// Names the calling thread (pthread_setname_np is not visible to Swift without _GNU_SOURCE).
private func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = Array(name.utf8.prefix(15)).withUnsafeBytes { writeFully(fd, $0) }
    _ = close(fd)
}
