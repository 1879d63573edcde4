import CLibSSH
import Foundation
import PodAgentExtras
import Synchronization

/// The channels of one session, driven by the one thread that owns the session (libssh sessions are not
/// thread-safe): remote commands and forwarded connections run side by side on it. Each `turn` waits for
/// traffic on the session and on the local descriptors the loop watches, then moves every channel on:
/// output to its callback, ended commands to their `onEnd`, timed-out commands to the kill of their remote
/// process group, forwarded bytes both ways, keepalives after a quiet spell.
///
/// The session is in the loop's libssh event only during the poll itself, so between turns blocking calls
/// (opening a channel, SFTP, `exec`) work as usual, and libssh still hands the other channels' data to
/// their callbacks while they block. Callbacks of watched descriptors only mark them ready; the work is
/// done after the poll, never inside libssh.
public final class ChannelLoop {
    public let session: SSHSession
    private let event: OpaquePointer
    private var commands: [ExecChannel] = []
    private var links: [ForwardLink] = []
    private var watched: [Int32: WatchedDescriptor] = [:]
    private var lastTraffic = ContinuousClock.now

    public init(session: SSHSession) throws(SSHError) {
        guard let event = ssh_event_new() else { throw SSHError(.channel, "libssh could not allocate an event loop") }
        self.session = session
        self.event = event
    }

    deinit {
        for command in commands { command.close() }
        for link in links { link.shutdown() }
        for fd in watched.keys { ssh_event_remove_fd(event, fd) }
        ssh_event_free(event)
    }

    /// Commands (with their kill channels) and forwarded connections open now.
    public var openChannels: Int { commands.reduce(0) { $0 + ($1.killer == nil ? 1 : 2) } + links.count }

    /// Starts `command` on a new channel and returns at once; output goes to `onOutput` and the end to
    /// `onEnd`, both from a later `turn` on this thread. With a `timeout`, the command is wrapped so the
    /// remote shell first reports its process group (sshd makes every command a session leader); on timeout
    /// a second channel kills that whole group, TERM then KILL, so nothing keeps running on the pod.
    public func startExec(_ command: String, timeout: Double?, handle: ChannelHandle = ChannelHandle(),
                          onOutput: @escaping (OutputStream, [UInt8]) -> Void,
                          onEnd: @escaping (Result<ExecOutcome, SSHError>) -> Void) throws(SSHError) {
        let channel = try ExecChannel(session: session, command: command, timeout: timeout, handle: handle, onOutput: onOutput)
        channel.onEnd = onEnd
        commands.append(channel)
    }

    /// Carries the connected local `socket` (the loop owns it from now on) to `remoteHost:remotePort` as seen
    /// from the pod, over a direct-tcpip channel.
    public func startForward(socket: Int32, remoteHost: String, remotePort: Int,
                             handle: ChannelHandle = ChannelHandle()) throws(SSHError) {
        guard let channel = ssh_channel_new(session.raw) else {
            close(socket)
            throw SSHError(.forward, "libssh could not allocate a channel: \(session.lastError)")
        }
        guard ssh_channel_open_forward(channel, remoteHost, Int32(remotePort), "127.0.0.1", 0) == SSH_OK else {
            let reason = session.lastError
            ssh_channel_free(channel)
            close(socket)
            throw SSHError(.forward, "the pod refused a connection to \(remoteHost):\(remotePort): \(reason)")
        }
        let link = ForwardLink(socket: socket, channel: channel, handle: handle)
        links.append(link)
        watch(socket) { [unowned link] in link.pumpLocal() }
    }

    /// Calls `onReadable` after any turn in which `fd` became readable (the callee drains it).
    public func watch(_ fd: Int32, onReadable: @escaping () -> Void) {
        let descriptor = WatchedDescriptor(onReadable: onReadable)
        watched[fd] = descriptor
        ssh_event_add_fd(event, fd, Int16(POLLIN), markReady, Unmanaged.passUnretained(descriptor).toOpaque())
    }

    public func unwatch(_ fd: Int32) {
        guard watched.removeValue(forKey: fd) != nil else { return }
        ssh_event_remove_fd(event, fd)
    }

    /// Waits up to `wait` for traffic, then moves every channel on. Throws when the connection is lost,
    /// after ending every command with that error and closing every forwarded connection.
    public func turn(wait: Duration) throws(SSHError) {
        // Blocking calls since the last turn (opening a channel, starting a command, SFTP) let libssh handle
        // packets already: a short command may have ended inside them. Moving on first means nothing waits
        // for traffic that has already arrived.
        let progressed = advance(now: .now)
        let milliseconds = progressed ? 0 : Int32(max(0, min(Double(Int32.max), wait.inMilliseconds.rounded(.down))))
        ssh_event_add_session(event, session.raw)
        let rc = ssh_event_dopoll(event, milliseconds)
        ssh_event_remove_session(event, session.raw)
        let now = ContinuousClock.now
        if rc == SSH_ERROR || !session.isAlive {
            let error = SSHError(.io, "connection to \(session.endpoint.host):\(session.endpoint.port) lost: \(session.lastError)")
            closeAll(error)
            throw error
        }
        if rc == SSH_OK { lastTraffic = now }
        for descriptor in watched.values where descriptor.ready {
            descriptor.ready = false
            descriptor.onReadable()
        }
        _ = advance(now: now)
        if session.options.keepaliveInterval > 0, now - lastTraffic >= .seconds(session.options.keepaliveInterval) {
            ssh_send_keepalive(session.raw)
            lastTraffic = now
        }
    }

    /// Moves forwarded bytes and commands on; true when a command ended or a connection closed.
    private func advance(now: ContinuousClock.Instant) -> Bool {
        let before = commands.count + links.count
        for link in links { link.pumpRemote() }
        links.removeAll { link in
            guard link.finished || link.handle.cancelled else { return false }
            unwatch(link.socket)
            link.shutdown()
            return true
        }
        commands.removeAll { $0.advance(now: now, session: session) }
        return commands.count + links.count < before
    }

    /// Ends every command with `error` and closes every forwarded connection.
    public func closeAll(_ error: SSHError) {
        let ending = commands
        commands = []
        for command in ending { command.finish(.failure(error)) }
        for link in links {
            unwatch(link.socket)
            link.shutdown()
        }
        links = []
    }
}

/// A channel's handle for whoever started it, on any thread: cancelling closes the channel at the loop's
/// next turn (a command then ends with a "cancelled" error).
public final class ChannelHandle: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var cancelled: Bool { flag.load(ordering: .relaxed) }
}

/// A descriptor the loop polls; libssh's callback only marks it (doing work inside libssh's poll could
/// re-enter the session).
final class WatchedDescriptor {
    var ready = false
    let onReadable: () -> Void
    init(onReadable: @escaping () -> Void) { self.onReadable = onReadable }
}

private let markReady: ssh_event_callback = { _, _, userdata in
    guard let userdata else { return 0 }
    Unmanaged<WatchedDescriptor>.fromOpaque(userdata).takeUnretainedValue().ready = true
    return 0
}
