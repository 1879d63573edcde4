import CLibSSH
import Foundation

/// Which remote stream a chunk of output came from.
public enum OutputStream: Sendable {
    case stdout, stderr
}

/// How a remote command ended.
public struct ExecOutcome: Sendable {
    /// The `exit-status` the server sent, if any.
    public var exitStatus: Int32?
    /// The `exit-signal` name (without SIG), when the command was killed by a signal.
    public var exitSignal: String?
    /// True when the command ran past its timeout.
    public var timedOut = false
    /// True when, after a timeout, the remote process group was confirmed gone.
    public var remoteKilled = false
}

/// Collects what libssh's channel callbacks report; lives on the session's thread only.
final class ChannelState {
    var exitStatus: Int32?
    var exitSignal: String?
    var eof = false
    var closed = false
    let onOutput: (OutputStream, [UInt8]) -> Void
    /// When the command was wrapped to report its process group, the first stderr line is that report.
    var expectingMarker: Bool
    var markerBuffer: [UInt8] = []
    var processGroup: Int?

    init(expectingMarker: Bool, onOutput: @escaping (OutputStream, [UInt8]) -> Void) {
        self.expectingMarker = expectingMarker
        self.onOutput = onOutput
    }

    func receive(_ bytes: UnsafeRawBufferPointer, stderr: Bool) {
        guard stderr, expectingMarker else {
            onOutput(stderr ? .stderr : .stdout, Array(bytes))
            return
        }
        markerBuffer.append(contentsOf: bytes)
        guard let newline = markerBuffer.firstIndex(of: 0x0A) else {
            if markerBuffer.count > 256 { flushMarkerBuffer() }  // not our marker: pass it on
            return
        }
        let line = String(decoding: markerBuffer[..<newline], as: UTF8.self)
        let prefix = "\u{1E}podctl-pgid "
        if line.hasPrefix(prefix), let group = Int(line.dropFirst(prefix.count)) {
            processGroup = group
            markerBuffer.removeSubrange(...newline)
        }
        flushMarkerBuffer()
    }

    func flushMarkerBuffer() {
        expectingMarker = false
        if !markerBuffer.isEmpty { onOutput(.stderr, markerBuffer) }
        markerBuffer = []
    }
}

private let onData: ssh_channel_data_callback = { _, _, data, length, isStderr, userdata in
    guard let userdata, let data else { return 0 }
    let state = Unmanaged<ChannelState>.fromOpaque(userdata).takeUnretainedValue()
    state.receive(UnsafeRawBufferPointer(start: data, count: Int(length)), stderr: isStderr != 0)
    return Int32(length)
}
private let onEOF: ssh_channel_eof_callback = { _, _, userdata in
    guard let userdata else { return }
    Unmanaged<ChannelState>.fromOpaque(userdata).takeUnretainedValue().eof = true
}
private let onClose: ssh_channel_close_callback = { _, _, userdata in
    guard let userdata else { return }
    Unmanaged<ChannelState>.fromOpaque(userdata).takeUnretainedValue().closed = true
}
private let onExitStatus: ssh_channel_exit_status_callback = { _, _, status, userdata in
    guard let userdata else { return }
    Unmanaged<ChannelState>.fromOpaque(userdata).takeUnretainedValue().exitStatus = status
}
private let onExitSignal: ssh_channel_exit_signal_callback = { _, _, signal, _, _, _, userdata in
    guard let userdata else { return }
    Unmanaged<ChannelState>.fromOpaque(userdata).takeUnretainedValue().exitSignal = signal.map { String(cString: $0) } ?? "?"
}

/// One remote command on its own channel, moved on by its session's `ChannelLoop`.
final class ExecChannel {
    private enum Phase { case running, killing }

    let channel: ssh_channel
    let state: ChannelState
    let handle: ChannelHandle
    var onEnd: ((Result<ExecOutcome, SSHError>) -> Void)?
    /// After a timeout: the channel running the kill script, and what it printed.
    private(set) var killer: ExecChannel?
    private var killOutput: [UInt8] = []
    private let callbacks: UnsafeMutablePointer<ssh_channel_callbacks_struct>
    private let timeout: Double?
    private let started = ContinuousClock.now
    private var phase = Phase.running
    private var outcome = ExecOutcome()
    private var closed = false

    /// Opens the channel and starts the command (both wait for the server's answer).
    init(session: SSHSession, command: String, timeout: Double?, handle: ChannelHandle = ChannelHandle(),
         onOutput: @escaping (OutputStream, [UInt8]) -> Void) throws(SSHError) {
        self.handle = handle
        let wrapped = timeout == nil ? command : "printf '\\036podctl-pgid %s\\n' \"$$\" >&2\n\(command)\n"
        state = ChannelState(expectingMarker: timeout != nil, onOutput: onOutput)
        self.timeout = timeout
        channel = try session.openSession()
        callbacks = UnsafeMutablePointer<ssh_channel_callbacks_struct>.allocate(capacity: 1)
        callbacks.initialize(to: ssh_channel_callbacks_struct())
        callbacks.pointee.size = MemoryLayout<ssh_channel_callbacks_struct>.size
        callbacks.pointee.userdata = Unmanaged.passUnretained(state).toOpaque()
        callbacks.pointee.channel_data_function = onData
        callbacks.pointee.channel_eof_function = onEOF
        callbacks.pointee.channel_close_function = onClose
        callbacks.pointee.channel_exit_status_function = onExitStatus
        callbacks.pointee.channel_exit_signal_function = onExitSignal
        ssh_set_channel_callbacks(channel, callbacks)
        let rc = ssh_channel_request_exec(channel, wrapped)
        guard rc == SSH_OK else {
            let reason = session.lastError
            close()
            var error = SSHError(.channel, "the server refused to run the command: \(reason)")
            if rc == SSH_AGAIN {
                error = SSHError(.timeout, "no answer to the command request within \(session.options.connectTimeout) s")
            } else if !session.isAlive {
                error = SSHError(.io, "connection to \(session.endpoint.host):\(session.endpoint.port) lost: \(reason)")
            }
            error.commandMayHaveRun = error.kind != .channel
            throw error
        }
    }

    deinit { close() }

    private var commandEnded: Bool {
        state.closed || (state.eof && (state.exitStatus != nil || state.exitSignal != nil)) || ssh_channel_is_closed(channel) != 0
    }

    /// Moves the command on; true once it has ended (its `onEnd` has been called).
    func advance(now: ContinuousClock.Instant, session: SSHSession) -> Bool {
        if handle.cancelled {
            finish(.failure(SSHError(.channel, "cancelled")))
            return true
        }
        switch phase {
        case .running:
            if commandEnded {
                finish(.success(outcome))
                return true
            }
            guard let timeout, now - started >= .milliseconds(Int64(timeout * 1000)) else { return false }
            outcome.timedOut = true
            guard let group = state.processGroup, group > 1 else {
                finish(.success(outcome))
                return true
            }
            do {
                killer = try ExecChannel(session: session, command: Self.killScript(group), timeout: nil) { [weak self] stream, bytes in
                    if stream == .stdout { self?.killOutput += bytes }
                }
                phase = .killing
                return false
            } catch {
                finish(.success(outcome))
                return true
            }
        case .killing:
            guard let killer, killer.commandEnded else { return false }
            outcome.remoteKilled = String(decoding: killOutput, as: UTF8.self).contains("gone")
            finish(.success(outcome))
            return true
        }
    }

    /// Reports the end (once) and closes the channels.
    func finish(_ result: Result<ExecOutcome, SSHError>) {
        if state.expectingMarker { state.flushMarkerBuffer() }
        let ending = result.map { outcome -> ExecOutcome in
            var outcome = outcome
            outcome.exitStatus = state.exitStatus
            outcome.exitSignal = state.exitSignal
            return outcome
        }
        close()
        let onEnd = self.onEnd
        self.onEnd = nil
        onEnd?(ending)
    }

    func close() {
        guard !closed else { return }
        closed = true
        killer?.close()
        ssh_remove_channel_callbacks(channel, callbacks)
        ssh_channel_close(channel)
        ssh_channel_free(channel)
        callbacks.deallocate()
    }

    /// TERM then KILL for the whole remote process group; prints "gone" when it is confirmed gone.
    /// kill -0 also succeeds for zombies (a pod's PID 1 may never reap orphans), so "alive" means a group
    /// member in /proc that is not a zombie, when /proc is there to ask.
    static func killScript(_ group: Int) -> String {
        """
        pg=\(group)
        alive() {
          kill -s 0 -- -$pg 2>/dev/null || return 1
          [ -d /proc/self ] || return 0
          for f in /proc/[0-9]*/stat; do
            read -r _ _ st _ g _ < "$f" 2>/dev/null || continue
            [ "$g" = "$pg" ] && [ "$st" != Z ] && return 0
          done
          return 1
        }
        kill -s TERM -- -$pg 2>/dev/null; i=0
        while alive && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done
        kill -s KILL -- -$pg 2>/dev/null; sleep 0.1
        if alive; then echo alive; else echo gone; fi
        """
    }
}

extension SSHSession {
    /// Runs `command` on the pod, handing output chunks to `onOutput` as they arrive
    /// (stdout and stderr are read together so neither can stall the other).
    ///
    /// With a `timeout`, the remote process group is killed when it passes (see `ChannelLoop.startExec`).
    public func exec(_ command: String, timeout: Double? = nil,
                     onOutput: @escaping (OutputStream, [UInt8]) -> Void) throws(SSHError) -> ExecOutcome {
        let loop = try ChannelLoop(session: self)
        var ended: Result<ExecOutcome, SSHError>?
        try loop.startExec(command, timeout: timeout, onOutput: onOutput) { ended = $0 }
        while ended == nil {
            try loop.turn(wait: .milliseconds(100))
        }
        guard let ended else { throw SSHError(.channel, "the command ended without a result") }
        return try ended.get()
    }

    func openSession() throws(SSHError) -> ssh_channel {
        guard let channel = ssh_channel_new(raw) else {
            throw SSHError(.channel, "libssh could not allocate a channel: \(lastError)")
        }
        let rc = ssh_channel_open_session(channel)
        guard rc == SSH_OK else {
            ssh_channel_free(channel)
            // A kept session tells these apart: no answer or a lost connection means it is dead,
            // a refusal (e.g. sshd's MaxSessions) means it is busy.
            if rc == SSH_AGAIN { throw SSHError(.timeout, "no answer to a channel request within \(options.connectTimeout) s") }
            if !isAlive { throw SSHError(.io, "connection to \(endpoint.host):\(endpoint.port) lost: \(lastError)") }
            throw SSHError(.channel, "the server refused a session channel: \(lastError)")
        }
        return channel
    }

    /// Runs a short command on its own channel and returns its stdout and exit status
    /// (stderr is kept too, for error messages). Used for checksums and remote cleanup.
    public func run(_ command: String) throws(SSHError) -> (status: Int32?, stdout: [UInt8], stderr: [UInt8]) {
        var out: [UInt8] = []
        var err: [UInt8] = []
        let outcome = try exec(command) { stream, bytes in
            if stream == .stdout { out += bytes } else { err += bytes }
        }
        return (outcome.exitStatus, out, err)
    }
}
