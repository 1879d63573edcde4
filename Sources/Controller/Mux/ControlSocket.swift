import CPodctlShims
import Foundation
import Synchronization

/// One end of the mux's Unix control socket: length-prefixed frames, descriptors passed with SCM_RIGHTS,
/// and the peer's UID as the kernel recorded it. The only Swift file that calls the C shims for them.
final class ControlSocket: Sendable {
    let fd: Int32
    /// Frames from several threads (the pods' session owners) must not interleave.
    private let writeLock = Mutex(())
    /// Set once a write failed: the other end is gone, later frames are dropped.
    private let broken = Atomic<Bool>(false)

    /// Frames above this are refused (a request for thousands of pods is well below it).
    static let maxFrame = 64 << 20

    init(fd: Int32) { self.fd = fd }

    deinit { Glibc.close(fd) }

    var isBroken: Bool { broken.load(ordering: .relaxed) }

    // MARK: listening and connecting

    /// Binds `path` (removing a stale socket file first: the caller holds the mux lock) and listens, mode 0600.
    static func listen(path: String) throws(ControllerError) -> ControlSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControllerError(.mux, "cannot create a Unix socket: \(String(cString: strerror(errno)))") }
        let listener = ControlSocket(fd: fd)
        unlink(path)
        let oldMask = umask(0o177)
        let bound = withAddress(path) { bind(fd, $0, $1) }
        umask(oldMask)
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            throw ControllerError(.mux, "cannot listen on \(path): \(String(cString: strerror(errno)))")
        }
        return listener
    }

    /// The next connection and its peer's UID, or nil when the accept failed (the listener stays usable).
    func accept() -> (ControlSocket, uid_t?)? {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { return nil }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        var uid: uid_t = 0
        let connection = ControlSocket(fd: client)
        return (connection, pc_peer_uid(client, &uid) == 0 ? uid : nil)
    }

    enum ConnectFailure: Error {
        /// Nothing listens there (no file, or a stale one): a mux may be started.
        case noMux
        case other(String)
    }

    static func connect(path: String) throws(ConnectFailure) -> ControlSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .other("cannot create a Unix socket: \(String(cString: strerror(errno)))") }
        let connection = ControlSocket(fd: fd)
        let rc = withAddress(path) { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return connection }
        if errno == ENOENT || errno == ECONNREFUSED { throw .noMux }
        throw .other("cannot connect to \(path): \(String(cString: strerror(errno)))")
    }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(107)) + [0]
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Waits up to `milliseconds` for something to read (or the other end closing); true when there is.
    func waitReadable(milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    /// True when the other end has closed (only valid when nothing else is expected from it).
    var peerClosed: Bool {
        guard waitReadable(milliseconds: 0) else { return false }
        var byte: UInt8 = 0
        let got = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    // MARK: frames

    /// Sends one frame; false (and nothing more is sent) once the other end is gone.
    @discardableResult
    func send(_ frame: MuxFrame) -> Bool {
        let bytes = frame.encoded()
        return writeLock.withLock { _ in
            guard !broken.load(ordering: .relaxed) else { return false }
            if writeAll(bytes) { return true }
            broken.store(true, ordering: .relaxed)
            return false
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let sent = Glibc.send(fd, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += sent
            }
            return true
        }
    }

    /// The next frame, or nil at end of stream; throws on a damaged stream.
    func receive() throws(ControllerError) -> MuxFrame? {
        guard let header = readExactly(4) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length >= 1, length <= Self.maxFrame else { throw ControllerError(.mux, "the mux connection carried a bad frame length \(length)") }
        guard let body = readExactly(length) else {
            throw ControllerError(.mux, "the mux connection closed in the middle of a frame")
        }
        return try MuxFrame.decode(body)
    }

    private func readExactly(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress.map { $0 + offset }, count - offset, 0) }
            if got < 0, errno == EINTR { continue }
            if got <= 0 { return nil }
            offset += got
        }
        return bytes
    }

    // MARK: descriptors

    func sendDescriptor(_ passed: Int32) -> Bool {
        writeLock.withLock { _ in pc_send_fd(fd, passed) == 0 }
    }

    /// The next passed descriptor; nil at end of stream or on error.
    func receiveDescriptor() -> Int32? {
        var received: Int32 = -1
        guard pc_recv_fd(fd, &received) == 0 else { return nil }
        return received >= 0 ? received : receiveDescriptor()
    }
}
