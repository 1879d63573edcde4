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
    /// Whether a session was had before the end: false only when connecting failed.
    var connected = true
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
