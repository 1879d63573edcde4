import CPodctlShims
import Crypto
import Foundation
import PodAgentExtras
import SSHClient
import Synchronization

/// What makes two connections interchangeable: the same host, port and user, the same identity file with
/// the same content, checked against the same known hosts file by the same policy, with the same ssh-agent.
/// A changed inventory entry (or a rotated key file) gets a session of its own, never an old one.
struct SessionKey: Hashable, Sendable {
    var host: String
    var port: Int
    var user: String
    var identity: String?
    var identityDigest: String?
    var knownHosts: String
    var policy: HostKeyPolicy
    /// The ssh-agent tried, if any (nil when agents are off or none is set).
    var agentSocket: String?

    init(pod: Pod, settings: ConnectionSettings) {
        host = pod.host
        port = pod.port
        user = pod.user
        identity = pod.identity
        identityDigest = pod.identity.flatMap { FileManager.default.contents(atPath: $0) }.map { SHA256.hash(data: $0).hex }
        knownHosts = settings.ssh.knownHostsFile
        policy = settings.ssh.hostKeyPolicy
        agentSocket = settings.ssh.useAgent ? settings.ssh.agentSocket : nil
    }

    var target: String { "\(user)@\(host):\(port)" }
}

/// How a command on a kept session ended.
struct SessionExecEnd: Sendable {
    var outcome: Result<ExecOutcome, SSHError>
    /// `new`, `kept` or `reconnected`.
    var session: String
    var connectMs: Double
    /// When the command's channel was open; nil when it never was.
    var runStarted: ContinuousClock.Instant?
}

/// Work handed to a kept session by a client's connection thread.
enum SessionWork: Sendable {
    /// A command on a new channel of the session.
    case exec(command: String, timeout: Double?, handle: ChannelHandle,
              output: @Sendable (SSHClient.OutputStream, [UInt8]) -> Void, end: @Sendable (SessionExecEnd) -> Void)
    /// A local connection (the session owns the descriptor from now on) carried to `host:port` on the pod.
    case forward(socket: Int32, host: String, port: Int, handle: ChannelHandle)
    /// Blocking work on the session's thread (SFTP transfers, a forward's first check); gets the session label.
    case run(body: @Sendable (SSHSession, String) -> Void, failed: @Sendable (SSHError) -> Void)

    /// Ends the work without running it.
    func fail(_ error: SSHError, label: String) {
        switch self {
        case .exec(_, _, _, _, let end): end(SessionExecEnd(outcome: .failure(error), session: label, connectMs: 0, runStarted: nil))
        case .forward(let socket, _, _, _): Glibc.close(socket)
        case .run(_, let failed): failed(error)
        }
    }
}

/// One kept libssh session and the one thread that owns it (libssh sessions are not thread-safe): work
/// arrives in an inbox, the thread opens channels for it on the session, and a `ChannelLoop` multiplexes
/// them. The session closes after `idle` seconds without channels, or when its connection is lost while
/// idle; a session found dead when a command starts is reconnected once (see `SessionDriver`).
final class KeptSession: Sendable {
    let key: SessionKey
    let pod: Pod
    let settings: ConnectionSettings
    /// An eventfd that wakes the owner's poll when work arrives (-1 if none could be made).
    let wake: Int32
    let registry: SessionRegistry
    private let shared: Mutex<Shared>

    struct Shared {
        var inbox: [SessionWork] = []
        var closed = false
        var stopping = false
        var pods: [String] = []
        var idleLimit: Double = 60
        var lastUsed = ContinuousClock.now
        var connectedAt = ContinuousClock.now
        var channels = 0
        var connects = 0
        var state = "connecting"
    }

    init(key: SessionKey, pod: Pod, settings: ConnectionSettings, registry: SessionRegistry) {
        self.key = key
        self.pod = pod
        self.settings = settings
        self.registry = registry
        wake = pc_wake_fd()
        shared = Mutex(Shared())
    }

    deinit { if wake >= 0 { close(wake) } }

    func start() {
        let thread = Thread { [self] in SessionDriver(kept: self).run() }
        thread.stackSize = 512 * 1024
        thread.start()
    }

    /// Adds work unless the session is closing; called with the registry's lock held.
    func enqueue(_ work: SessionWork, podName: String, idle: Double) -> Bool {
        let accepted = shared.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.inbox.append(work)
            if !state.pods.contains(podName) { state.pods.append(podName) }
            state.idleLimit = idle
            return true
        }
        if accepted { signalWake() }
        return accepted
    }

    func signalWake() {
        guard wake >= 0 else { return }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    func drainWake() {
        guard wake >= 0 else { return }
        var value: UInt64 = 0
        _ = read(wake, &value, 8)
    }

    /// Asks the owner to close everything and end.
    func stop() {
        shared.withLock { $0.stopping = true }
        signalWake()
    }

    /// The work waiting, and whether the mux is stopping.
    func take() -> (work: [SessionWork], stopping: Bool) {
        shared.withLock { state in
            defer { state.inbox = [] }
            return (state.inbox, state.stopping)
        }
    }

    /// Marks the session closed unless work arrived meanwhile (registry lock held): then nothing new reaches it.
    func closeIfIdle() -> Bool {
        shared.withLock { state in
            guard state.inbox.isEmpty || state.stopping else { return false }
            state.closed = true
            return true
        }
    }

    /// Marks the session closed and returns what was still waiting (to be failed).
    func closeForStop() -> [SessionWork] {
        shared.withLock { state in
            state.closed = true
            defer { state.inbox = [] }
            return state.inbox
        }
    }

    func update(_ change: (inout Shared) -> Void) { shared.withLock { change(&$0) } }

    /// Seconds until the idle limit passes (0 when it has).
    var idleRemaining: Double {
        shared.withLock { state in
            max(0, state.idleLimit - (ContinuousClock.now - state.lastUsed).inSeconds)
        }
    }

    var status: MuxSessionStatus {
        shared.withLock { state in
            let now = ContinuousClock.now
            return MuxSessionStatus(pods: state.pods, target: key.target, state: state.state,
                                    ageSeconds: (now - state.connectedAt).inSeconds,
                                    idleSeconds: state.channels > 0 ? 0 : (now - state.lastUsed).inSeconds,
                                    idleLimitSeconds: state.idleLimit, channels: state.channels, connects: state.connects)
        }
    }
}

/// A kept session's owner, living on its thread: the libssh session, its channel loop, work waiting for a
/// free channel.
private final class SessionDriver {
    let kept: KeptSession
    var session: SSHSession?
    var loop: ChannelLoop?
    /// Commands the server refused a channel for while others were open (sshd's MaxSessions, 10 by
    /// default): retried when a channel closes.
    var deferred: [SessionWork] = []
    var channelsWhenRefused = 0
    var knownHostsStamp: FileStamp?
    var connects = 0

    init(kept: KeptSession) { self.kept = kept }

    func run() {
        while true {
            let (work, stopping) = kept.take()
            if stopping {
                stop(work)
                return
            }
            for item in work { begin(item) }
            if !deferred.isEmpty, (loop?.openChannels ?? 0) < channelsWhenRefused {
                let retry = deferred
                deferred = []
                for item in retry { begin(item) }
            }
            let channels = loop?.openChannels ?? 0
            kept.update { state in
                state.channels = channels
                if channels > 0 { state.lastUsed = .now }
                state.state = self.session == nil ? "closed" : "open"
            }
            if channels == 0, deferred.isEmpty, session == nil || kept.idleRemaining <= 0 {
                if kept.registry.retire(kept) {
                    MuxLog.write(session == nil ? "\(kept.key.target): session gone" : "\(kept.key.target): idle, closing the session")
                    close()
                    return
                }
                continue
            }
            guard let loop else { continue }
            let wait: Duration = channels > 0 ? .milliseconds(100) : .milliseconds(Int64(min(1000, max(10, kept.idleRemaining * 1000))))
            do {
                try loop.turn(wait: wait)
            } catch {
                // Every command on it has been ended with the error by the loop.
                MuxLog.write("\(kept.key.target): \(error.message)")
                self.loop = nil
                session = nil
            }
        }
    }

    /// Starts one piece of work, connecting (or reconnecting) first when needed.
    func begin(_ work: SessionWork, afterLoss lost: SSHError? = nil) {
        kept.update { $0.lastUsed = .now }
        let (fresh, connectMs, failure) = ensureSession()
        let label = fresh ? (connects > 1 || lost != nil ? "reconnected" : "new") : "kept"
        if var failure {
            if let lost {
                failure.message = "the kept session was lost (\(lost.message)) and reconnecting failed: \(failure.message)"
            }
            if case .exec(_, _, _, _, let end) = work {
                end(SessionExecEnd(outcome: .failure(failure), session: label, connectMs: connectMs, runStarted: nil))
            } else {
                work.fail(failure, label: label)
            }
            return
        }
        guard let session, let loop else { return }
        do {
            switch work {
            case .exec(let command, let timeout, let handle, let output, let end):
                let opened = ContinuousClock.now
                try loop.startExec(command, timeout: timeout, handle: handle, onOutput: output) { outcome in
                    end(SessionExecEnd(outcome: outcome, session: label, connectMs: connectMs, runStarted: opened))
                }
            case .forward(let socket, let host, let port, let handle):
                try loop.startForward(socket: socket, remoteHost: host, remotePort: port, handle: handle)
            case .run(let body, _):
                body(session, label)
            }
        } catch {
            if error.commandMayHaveRun {
                // Never sent twice: the session is unusable, the command's fate unknown.
                MuxLog.write("\(kept.key.target): \(error.message); the command is not retried")
                dropSession(error)
                work.fail(error, label: label)
                return
            }
            switch error.kind {
            case .channel where loop.openChannels > 0:
                // Refused while busy: wait for one of the session's channels to close.
                if case .forward(let socket, _, _, _) = work { Glibc.close(socket); return }
                deferred.append(work)
                channelsWhenRefused = loop.openChannels
            case .timeout where !fresh && lost == nil, .io where !fresh && lost == nil:
                // The kept session no longer answers (the pod restarted, the network dropped it): reconnect once.
                MuxLog.write("\(kept.key.target): kept session lost (\(error.message)); reconnecting")
                dropSession(error)
                begin(work, afterLoss: error)
            default:
                work.fail(error, label: label)
            }
        }
    }

    /// A usable session: the kept one (its host key checked again if known_hosts changed), or a new one.
    func ensureSession() -> (fresh: Bool, connectMs: Double, failure: SSHError?) {
        if let session, session.isAlive {
            let stamp = FileStamp(kept.settings.ssh.knownHostsFile)
            if stamp != knownHostsStamp {
                do { try session.recheckHostKey() } catch {
                    MuxLog.write("\(kept.key.target): host key no longer accepted: \(error.message)")
                    dropSession(error)
                    return (false, 0, error)
                }
                knownHostsStamp = stamp
            }
            return (false, 0, nil)
        }
        dropSession(SSHError(.io, "the session was closed"))
        let start = ContinuousClock.now
        kept.update { $0.state = "connecting" }
        do {
            let made = try kept.settings.connect(kept.pod)
            let newLoop = try ChannelLoop(session: made)
            newLoop.watch(kept.wake) { [kept] in kept.drainWake() }
            session = made
            loop = newLoop
            connects += 1
            knownHostsStamp = FileStamp(kept.settings.ssh.knownHostsFile)
            let count = connects
            kept.update { state in
                state.connects = count
                state.connectedAt = .now
                state.state = "open"
            }
            MuxLog.write("\(kept.key.target): connected (\(kept.pod.name)), host key \(made.hostKeyFingerprint)")
            return (true, (ContinuousClock.now - start).inMilliseconds, nil)
        } catch {
            MuxLog.write("\(kept.key.target): cannot connect: \(error.message)")
            return (true, (ContinuousClock.now - start).inMilliseconds, error)
        }
    }

    func dropSession(_ error: SSHError) {
        loop?.closeAll(error)
        loop = nil
        session = nil
    }

    func stop(_ waiting: [SessionWork]) {
        let error = SSHError(.channel, "the mux was stopped (podctl mux stop)")
        for item in waiting + deferred + kept.closeForStop() { item.fail(error, label: "kept") }
        deferred = []
        dropSession(error)
        _ = kept.registry.retire(kept)
        MuxLog.write("\(kept.key.target): closed (mux stopping)")
    }

    func close() {
        dropSession(SSHError(.io, "the session was closed"))
    }
}

/// Enough of a file's identity to notice that it changed (known_hosts edited, a key removed).
struct FileStamp: Equatable {
    var inode: UInt64
    var size: Int64
    var modified: Int
    var modifiedNanoseconds: Int

    init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim.tv_sec
        modifiedNanoseconds = info.st_mtim.tv_nsec
    }
}

/// The mux's kept sessions, by key. Adding work and retiring a session happen under one lock, so work is
/// never handed to a session that is closing.
final class SessionRegistry: Sendable {
    private let sessions = Mutex<[SessionKey: KeptSession]>([:])

    func submit(_ work: SessionWork, pod: Pod, settings: ConnectionSettings, idle: Double) {
        let key = SessionKey(pod: pod, settings: settings)
        sessions.withLock { map in
            if let kept = map[key], kept.enqueue(work, podName: pod.name, idle: idle) { return }
            let kept = KeptSession(key: key, pod: pod, settings: settings, registry: self)
            guard kept.wake >= 0 else {
                work.fail(SSHError(.io, "the mux cannot make an eventfd: \(String(cString: strerror(errno)))"), label: "new")
                return
            }
            _ = kept.enqueue(work, podName: pod.name, idle: idle)
            map[key] = kept
            kept.start()
        }
    }

    /// Removes `kept` unless work reached it meanwhile; true when it is gone.
    func retire(_ kept: KeptSession) -> Bool {
        sessions.withLock { map in
            guard kept.closeIfIdle() else { return false }
            if map[kept.key] === kept { map[kept.key] = nil }
            return true
        }
    }

    func stopAll() {
        for kept in sessions.withLock({ Array($0.values) }) { kept.stop() }
    }

    var isEmpty: Bool { sessions.withLock { $0.isEmpty } }

    var status: [MuxSessionStatus] {
        sessions.withLock { Array($0.values) }.map(\.status).sorted { ($0.pods.first ?? "", $0.target) < ($1.pods.first ?? "", $1.target) }
    }
}
