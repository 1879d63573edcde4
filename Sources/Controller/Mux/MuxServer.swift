import Foundation
import PodAgentExtras
import SSHClient
import Synchronization

/// The mux's log lines (its stderr is `mux.log` in its directory). Never a secret: targets, fingerprints,
/// errors, refused peers.
enum MuxLog {
    static func write(_ message: String) {
        OutputWriter.stderr.write("\(Date().formatted(.iso8601)) podctl mux[\(getpid())]: \(message)\n")
    }
}

/// `podctl mux serve`: the per-user background process that keeps libssh sessions for later commands.
///
/// One thread accepts on the control socket and checks every peer's UID (SO_PEERCRED) against its own;
/// one thread per client connection reads its request and hands each pod's work to that pod's kept
/// session (`SessionRegistry`), whose own thread owns the libssh session. Output and results go back on
/// the client's connection as they happen. The mux ends when it holds no session and no client (after
/// the sessions' idle limits), on `podctl mux stop`, or on SIGTERM/SIGINT.
public final class MuxServer: Sendable {
    let directory: MuxDirectory
    let registry = SessionRegistry()
    private let listener: ControlSocket
    /// Connections being served (any request).
    private let clients = Atomic<Int>(0)
    /// Requests bringing work, and whether the mux has decided to exit: one lock, so a request is either
    /// refused before it is accepted (its client retries, starting a new mux) or keeps the mux running.
    private let lifecycle = Mutex<(busy: Int, exiting: Bool)>((0, false))
    private let stopping = Atomic<Bool>(false)
    private let lastActivity = Mutex(ContinuousClock.now)
    private let started = ContinuousClock.now

    /// How long an empty mux waits for a client before it exits (the client that started it connects at once).
    static let emptyGrace: Duration = .seconds(3)

    private init(directory: MuxDirectory, listener: ControlSocket) {
        self.directory = directory
        self.listener = listener
    }

    /// Runs the mux in this process until it is done; returns the exit status (0 also when another mux
    /// already holds the directory's lock, which then serves the clients).
    public static func serve(directory: MuxDirectory) -> Int32 {
        do { try directory.prepare() } catch {
            MuxLog.write(error.message)
            return 1
        }
        let lock = open(directory.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else {
            MuxLog.write("cannot open \(directory.lock): \(String(cString: strerror(errno)))")
            return 1
        }
        // Held until the process exits: one mux per directory.
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            return 0
        }
        trimLog(directory)
        signal(SIGPIPE, SIG_IGN)
        Interrupt.install()
        _ = FanOut.descriptorLimitRaised
        let listener: ControlSocket
        do { listener = try ControlSocket.listen(path: directory.socket) } catch {
            MuxLog.write(error.message)
            return 1
        }
        return MuxServer(directory: directory, listener: listener).acceptLoop()
    }

    /// Each mux appends to `mux.log` (its stderr); past 1 MiB the file starts over, so it never grows without bound.
    private static func trimLog(_ directory: MuxDirectory) {
        var log = stat()
        var standardError = stat()
        guard stat(directory.log, &log) == 0, fstat(2, &standardError) == 0, log.st_ino == standardError.st_ino,
              log.st_dev == standardError.st_dev, log.st_size > 1 << 20 else { return }
        _ = ftruncate(2, 0)
    }

    private func touch() { lastActivity.withLock { $0 = .now } }

    private func acceptLoop() -> Int32 {
        MuxLog.write("listening on \(directory.socket)")
        while true {
            if Interrupt.requested { stopping.store(true, ordering: .relaxed) }
            if stopping.load(ordering: .relaxed) { break }
            if !registry.isEmpty { touch() }
            let quiet = ContinuousClock.now - lastActivity.withLock { $0 }
            let exiting = lifecycle.withLock { state -> Bool in
                guard state.busy == 0, registry.isEmpty, quiet > Self.emptyGrace else { return false }
                state.exiting = true
                return true
            }
            if exiting { break }
            if listener.waitReadable(milliseconds: 200), let (connection, uid) = listener.accept() {
                if uid == getuid() {
                    clients.wrappingAdd(1, ordering: .relaxed)
                    let thread = Thread { [self] in
                        handle(connection)
                        clients.wrappingSubtract(1, ordering: .relaxed)
                    }
                    thread.stackSize = 512 * 1024
                    thread.start()
                } else {
                    // The directory is 0700, so only root or a changed mode lets another user get here.
                    MuxLog.write("refused a connection from uid \(uid.map(String.init) ?? "unknown") (the mux serves uid \(getuid()) only)")
                }
            }
        }
        // New connections fail from here on (no socket file); status requests being answered finish first.
        unlink(directory.socket)
        let deadline = ContinuousClock.now + .seconds(2)
        while clients.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline { usleep(10_000) }
        registry.stopAll()
        waitForSessionsToClose()
        MuxLog.write("exiting")
        return 0
    }

    private func waitForSessionsToClose() {
        let deadline = ContinuousClock.now + .seconds(10)
        while !registry.isEmpty, ContinuousClock.now < deadline { usleep(20_000) }
    }

    /// Serves one connection.
    private func handle(_ connection: ControlSocket) {
        let frame: MuxFrame?
        do { frame = try connection.receive() } catch {
            MuxLog.write("a client sent a bad request: \(error.message)")
            return
        }
        guard case .request(let envelope)? = frame else { return }
        guard envelope.version == MuxEnvelope.currentVersion else {
            connection.send(.failure("this mux (pid \(getpid())) speaks protocol \(MuxEnvelope.currentVersion), the client \(envelope.version): "
                                     + "run `podctl mux stop` and try again"))
            return
        }
        if case .status = envelope.request {
            // A status request is answered even while exiting, and does not keep an empty mux alive.
            let uptime = (ContinuousClock.now - started).inSeconds
            connection.send(.status(MuxStatus(pid: getpid(), socket: directory.socket, uptimeSeconds: uptime, sessions: registry.status)))
            connection.send(.done)
            return
        }
        // Closed without `accepted` when exiting: the client sends the request again, to a new mux.
        guard lifecycle.withLock({ state -> Bool in
            if state.exiting { return false }
            state.busy += 1
            return true
        }) else { return }
        touch()
        defer {
            touch()
            lifecycle.withLock { $0.busy -= 1 }
        }
        switch envelope.request {
        case .exec(let request): exec(request, on: connection)
        case .push(let request): transfer(request, push: true, on: connection)
        case .pull(let request): transfer(request, push: false, on: connection)
        case .forward(let request): forward(request, on: connection)
        case .status: break
        case .stop:
            connection.send(.accepted)
            MuxLog.write("stop requested")
            stopping.store(true, ordering: .relaxed)
            registry.stopAll()
            waitForSessionsToClose()
            connection.send(.done)
        }
    }

    /// Runs `count` pieces of work at most `width` at a time, as the client's fan-out says; when the client
    /// goes away, `cancel` ends what runs and nothing more starts. `submit(index, done)` calls `done` once.
    private func window(count: Int, width: Int, connection: ControlSocket, cancel: () -> Void,
                        submit: (Int, @escaping @Sendable () -> Void) -> Void) {
        let finished = DispatchSemaphore(value: 0)
        let done: @Sendable () -> Void = { finished.signal() }
        var next = 0
        var outstanding = 0
        var cancelled = false
        while next < count, outstanding < max(1, width) {
            submit(next, done)
            next += 1
            outstanding += 1
        }
        while outstanding > 0 {
            if finished.wait(timeout: .now() + .milliseconds(200)) == .success {
                outstanding -= 1
                if next < count, !cancelled {
                    submit(next, done)
                    next += 1
                    outstanding += 1
                }
            } else if !cancelled, connection.isBroken || connection.peerClosed {
                cancelled = true
                MuxLog.write("a client went away: cancelling its \(outstanding) running command(s), \(count - next) not started")
                cancel()
            }
        }
    }

    private func exec(_ request: MuxExecRequest, on connection: ControlSocket) {
        connection.send(.accepted)
        let handles = request.pods.map { _ in ChannelHandle() }
        window(count: request.pods.count, width: request.fanout, connection: connection, cancel: { handles.forEach { $0.cancel() } }) { index, done in
            let pod = request.pods[index]
            let submitted = ContinuousClock.now
            let timeout = request.timeout
            let work = SessionWork.exec(command: request.command, timeout: timeout, handle: handles[index], output: { stream, bytes in
                connection.send(.output(index: index, stream: stream, bytes: bytes))
            }, end: { end in
                var result = PodResult(pod: pod, status: .error)
                result.session = end.session
                result.connectMs = end.connectMs
                switch end.outcome {
                case .success(let outcome): result.apply(outcome, timeout: timeout)
                case .failure(let error): result.record(error, connected: end.connected)
                }
                let now = ContinuousClock.now
                result.runMs = end.runStarted.map { (now - $0).inMilliseconds } ?? 0
                result.totalMs = (now - submitted).inMilliseconds
                connection.send(.podResult(index: index, result: result))
                done()
            })
            registry.submit(work, pod: pod, settings: request.settings, idle: request.idle)
        }
        connection.send(.done)
    }

    private func transfer(_ request: MuxTransferRequest, push: Bool, on connection: ControlSocket) {
        var file: LocalFile?
        if push {
            do { file = try LocalFile(path: request.local) } catch {
                connection.send(.failure(error.message))
                return
            }
        }
        connection.send(.accepted)
        let pushed = file
        // A transfer blocks its session's thread, so it cannot be cancelled half-way: a client that leaves
        // lets the running ones finish and starts no more.
        window(count: request.pods.count, width: request.fanout, connection: connection, cancel: {}) { index, done in
            let pod = request.pods[index]
            let work = SessionWork.run(body: { session, _ in
                var result: TransferResult
                do {
                    if let pushed {
                        result = try TransferCommand.pushOne(pushed, to: request.remote, session: session, pod: pod)
                    } else {
                        result = try TransferCommand.pullOne(request.remote, into: request.local, pod: pod) { () throws(ControllerError) in session }
                    }
                } catch {
                    result = TransferResult(pod: pod, error: TransferCommand.transferError(error).message)
                }
                connection.send(.transferResult(index: index, result: result))
                done()
            }, failed: { error in
                connection.send(.transferResult(index: index, result: TransferResult(pod: pod, error: error.message)))
                done()
            })
            registry.submit(work, pod: pod, settings: request.settings, idle: request.idle)
        }
        connection.send(.done)
    }

    private func forward(_ request: MuxForwardRequest, on connection: ControlSocket) {
        connection.send(.accepted)
        let ready = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)
        let check = SessionWork.run(body: { _, _ in ready.signal() }, failed: { error in
            failure.withLock { $0 = error.message }
            ready.signal()
        })
        registry.submit(check, pod: request.pod, settings: request.settings, idle: request.idle)
        ready.wait()
        if let message = failure.withLock({ $0 }) {
            connection.send(.failure(message))
            return
        }
        connection.send(.ready)
        var handles: [ChannelHandle] = []
        // Each accepted local connection arrives as a descriptor; a quiet second keeps the session in use,
        // so it does not reach its idle limit while the forward runs.
        while true {
            if connection.waitReadable(milliseconds: 1000) {
                guard let socket = connection.receiveDescriptor() else { break }
                let handle = ChannelHandle()
                handles.append(handle)
                registry.submit(.forward(socket: socket, host: request.remoteHost, port: request.remotePort, handle: handle),
                                pod: request.pod, settings: request.settings, idle: request.idle)
            } else {
                registry.submit(.run(body: { _, _ in }, failed: { _ in }), pod: request.pod, settings: request.settings, idle: request.idle)
            }
        }
        for handle in handles { handle.cancel() }
    }
}
