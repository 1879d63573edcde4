import CLibSSH
import Foundation

/// Local TCP connections carried into the pod over direct-tcpip channels of one session.
///
/// Everything runs on the caller's thread (libssh sessions must not be shared between threads):
/// one poll loop over the listening socket, the accepted sockets and the session.
/// Local TCP connections carried into the pod over direct-tcpip channels of one session.
///
/// Everything runs on the caller's thread (libssh sessions must not be shared between threads): the
/// session's `ChannelLoop` watches the listening socket and the accepted ones.
extension SSHSession {
    /// Listens on 127.0.0.1:`localPort` (0 picks a free port), reports the bound port through
    /// `ready`, and forwards each accepted connection to `remoteHost:remotePort` as seen from the pod,
    /// until `shouldStop` returns true.
    public func forward(localPort: Int, remoteHost: String, remotePort: Int,
                        ready: (Int) -> Void, shouldStop: () -> Bool) throws(SSHError) {
        let listener = try Self.listen(port: localPort)
        defer { close(listener) }
        ready(try Self.boundPort(listener))
        let loop = try ChannelLoop(session: self)
        defer { loop.unwatch(listener) }
        loop.watch(listener) { [unowned loop] in
            let client = accept(listener, nil, nil)
            // A refused channel closes the client's connection, as ssh -L does.
            if client >= 0 { try? loop.startForward(socket: client, remoteHost: remoteHost, remotePort: remotePort) }
        }
        while !shouldStop() {
            try loop.turn(wait: .milliseconds(20))
        }
    }

    /// A TCP socket listening on 127.0.0.1:`port` (0 picks one); the caller closes it.
    public static func listen(port: Int) throws(SSHError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SSHError(.forward, "cannot create a socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SSHError(.forward, "cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        return fd
    }

    /// The port a listening socket is bound to.
    public static func boundPort(_ fd: Int32) throws(SSHError) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { throw SSHError(.forward, "getsockname failed: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// One accepted local socket and its direct-tcpip channel.
final class ForwardLink {
    let socket: Int32
    let channel: ssh_channel
    let handle: ChannelHandle
    var localOpen = true
    var remoteOpen = true
    private var buffer = [UInt8](repeating: 0, count: 32 * 1024)

    init(socket: Int32, channel: ssh_channel, handle: ChannelHandle) {
        self.socket = socket
        self.channel = channel
        self.handle = handle
    }

    var finished: Bool { !remoteOpen || (!localOpen && ssh_channel_is_eof(channel) != 0) }

    func pumpLocal() {
        guard localOpen else { return }
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count > 0 {
            let written = buffer.withUnsafeBytes { ssh_channel_write(channel, $0.baseAddress, UInt32(count)) }
            if written < 0 { remoteOpen = false }
        } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
            localOpen = false
            ssh_channel_send_eof(channel)
        }
    }

    func pumpRemote() {
        guard remoteOpen else { return }
        while true {
            let count = buffer.withUnsafeMutableBytes {
                ssh_channel_read_nonblocking(channel, $0.baseAddress, UInt32($0.count), 0)
            }
            if count > 0 {
                if !sendAll(Int(count)) { remoteOpen = false; return }
                continue
            }
            if count < 0 || ssh_channel_is_closed(channel) != 0 { remoteOpen = false }
            else if ssh_channel_is_eof(channel) != 0 { Glibc.shutdown(socket, Int32(SHUT_WR)); if !localOpen { remoteOpen = false } }
            return
        }
    }

    private func sendAll(_ count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let sent = buffer.withUnsafeBytes { send(socket, $0.baseAddress.map { $0 + offset }, count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    func shutdown() {
        ssh_channel_close(channel)
        ssh_channel_free(channel)
        close(socket)
        localOpen = false
        remoteOpen = false
    }
}
