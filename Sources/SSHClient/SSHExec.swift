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

extension SSHSession {
    /// Runs `command` on the pod, handing output chunks to `onOutput` as they arrive
    /// (stdout and stderr are read together so neither can stall the other).
    ///
    /// With a `timeout`, the command is wrapped so the remote shell first reports its process
    /// group (sshd makes every session's command a session leader); on timeout a second channel
    /// kills that whole group, TERM then KILL, so nothing keeps running on the pod.
    public func exec(_ command: String, timeout: Double? = nil,
                     onOutput: @escaping (OutputStream, [UInt8]) -> Void) throws(SSHError) -> ExecOutcome {
        let wrapped = timeout == nil ? command : "printf '\\036podctl-pgid %s\\n' \"$$\" >&2\n\(command)\n"
        let state = ChannelState(expectingMarker: timeout != nil, onOutput: onOutput)
        let channel = try openSession()
        let callbacks = UnsafeMutablePointer<ssh_channel_callbacks_struct>.allocate(capacity: 1)
        callbacks.initialize(to: ssh_channel_callbacks_struct())
        callbacks.pointee.size = MemoryLayout<ssh_channel_callbacks_struct>.size
        callbacks.pointee.userdata = Unmanaged.passUnretained(state).toOpaque()
        callbacks.pointee.channel_data_function = onData
        callbacks.pointee.channel_eof_function = onEOF
        callbacks.pointee.channel_close_function = onClose
        callbacks.pointee.channel_exit_status_function = onExitStatus
        callbacks.pointee.channel_exit_signal_function = onExitSignal
        let event = ssh_event_new()
        defer {
            if let event {
                ssh_event_remove_session(event, raw)
                ssh_event_free(event)
            }
            ssh_remove_channel_callbacks(channel, callbacks)
            ssh_channel_close(channel)
            ssh_channel_free(channel)
            callbacks.deallocate()
            withExtendedLifetime(state) {}
        }
        guard let event else { throw SSHError(.channel, "libssh could not allocate an event loop") }
        ssh_set_channel_callbacks(channel, callbacks)
        guard ssh_channel_request_exec(channel, wrapped) == SSH_OK else {
            throw SSHError(.channel, "the server refused to run the command: \(lastError)")
        }
        ssh_event_add_session(event, raw)

        let start = ContinuousClock.now
        var lastTraffic = start
        var outcome = ExecOutcome()
        while !(state.closed || (state.eof && (state.exitStatus != nil || state.exitSignal != nil))) {
            if ssh_channel_is_closed(channel) != 0 { break }
            let rc = ssh_event_dopoll(event, 100)
            if rc == SSH_ERROR {
                throw SSHError(.io, "connection to \(endpoint.host):\(endpoint.port) lost: \(lastError)")
            }
            let now = ContinuousClock.now
            if rc == SSH_OK { lastTraffic = now }
            if let timeout, now - start >= .milliseconds(Int64(timeout * 1000)) {
                outcome.timedOut = true
                break
            }
            if options.keepaliveInterval > 0, now - lastTraffic >= .seconds(options.keepaliveInterval) {
                ssh_send_keepalive(raw)
                lastTraffic = now
            }
        }
        if outcome.timedOut {
            ssh_event_remove_session(event, raw)
            if let group = state.processGroup {
                outcome.remoteKilled = killRemoteGroup(group)
            }
        }
        if state.expectingMarker { state.flushMarkerBuffer() }
        outcome.exitStatus = state.exitStatus
        outcome.exitSignal = state.exitSignal
        return outcome
    }

    func openSession() throws(SSHError) -> ssh_channel {
        guard let channel = ssh_channel_new(raw) else {
            throw SSHError(.channel, "libssh could not allocate a channel: \(lastError)")
        }
        guard ssh_channel_open_session(channel) == SSH_OK else {
            ssh_channel_free(channel)
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

    /// TERM then KILL for the whole remote process group; true when it is confirmed gone.
    private func killRemoteGroup(_ group: Int) -> Bool {
        guard group > 1 else { return false }
        // kill -0 also succeeds for zombies (a pod's PID 1 may never reap orphans), so "alive"
        // means a group member in /proc that is not a zombie, when /proc is there to ask.
        let script = """
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
        guard let result = try? run(script) else { return false }
        return String(decoding: result.stdout, as: UTF8.self).contains("gone")
    }
}
