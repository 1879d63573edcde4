import Foundation
import SSHClient

/// podctl's side of the mux (`--persist`): sends a command's work to the running mux (starting one when
/// none answers) and turns what comes back into the same output, results and exit codes as a direct run.
struct MuxClient: Sendable {
    let directory: MuxDirectory
    let serverCommand: [String]
    let idle: Double

    init(_ persist: PersistSettings, environment: [String: String] = ProcessInfo.processInfo.environment) {
        directory = MuxDirectory.resolve(environment: environment, override: persist.directory)
        serverCommand = persist.serverCommand ?? MuxLauncher.defaultCommand
        idle = persist.idle
    }

    /// The settings as the mux needs them: absolute paths (it runs elsewhere), the ssh-agent socket named.
    static func forMux(_ settings: ConnectionSettings) -> ConnectionSettings {
        var settings = settings
        settings.persist = nil
        settings.ssh.knownHostsFile = absolute(settings.ssh.knownHostsFile)
        if settings.ssh.useAgent, settings.ssh.agentSocket == nil {
            settings.ssh.agentSocket = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"]
        }
        return settings
    }

    static func forMux(_ pod: Pod) -> Pod {
        var pod = pod
        pod.identity = pod.identity.map(absolute)
        return pod
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    // MARK: connecting

    /// A connection to the running mux; when none answers, starts one (if `start`) and waits for it.
    func connect(start: Bool) throws(ControllerError) -> ControlSocket? {
        if start { try directory.prepare() } else {
            guard FileManager.default.fileExists(atPath: directory.path) else { return nil }
            try directory.check()
        }
        do { return try ControlSocket.connect(path: directory.socket) } catch {
            if case .other(let message) = error { throw ControllerError(.mux, message) }
        }
        guard start else { return nil }
        let pid = try MuxLauncher.start(command: serverCommand, directory: directory)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            do { return try ControlSocket.connect(path: directory.socket) } catch {
                if case .other(let message) = error { throw ControllerError(.mux, message) }
            }
            // Status 0 without a socket: another mux won the lock and is about to listen; keep trying.
            if let status = MuxLauncher.exitStatus(pid), status != 0 {
                throw ControllerError(.mux, "the mux exited with status \(status) before listening: \(MuxLauncher.logTail(directory))")
            }
            usleep(5_000)
        }
        throw ControllerError(.mux, "the mux did not listen on \(directory.socket) within 15 s; see \(directory.log)")
    }

    /// Sends `request` and returns the connection once the mux has accepted it. A mux that closes the
    /// connection before accepting was exiting (idle): the request is sent again, to a new mux if need be.
    func submit(_ request: MuxRequest) throws(ControllerError) -> ControlSocket {
        for _ in 0..<3 {
            guard let connection = try connect(start: true) else { continue }
            guard connection.send(.request(MuxEnvelope(version: MuxEnvelope.currentVersion, request: request))) else { continue }
            switch try connection.receive() {
            case .accepted?: return connection
            case .failure(let message)?: throw ControllerError(.mux, message)
            case nil: usleep(50_000)
            case let other?: throw ControllerError(.mux, "the mux answered \(other) to a request")
            }
        }
        throw ControllerError(.mux, "the mux at \(directory.socket) kept closing connections before accepting a request; see \(directory.log)")
    }

    // MARK: commands

    func exec(pods: [Pod], request: ExecRequest, settings: ConnectionSettings, sink: (any OutputSink)?) -> [PodResult] {
        var results = [PodResult?](repeating: nil, count: pods.count)
        let kept = pods.map { _ in KeptOutput(request) }
        var failure: String?
        do {
            let connection = try submit(.exec(MuxExecRequest(pods: pods.map(Self.forMux), settings: Self.forMux(settings),
                                                             command: request.command, timeout: request.timeout,
                                                             fanout: request.fanout, idle: idle)))
            failure = receive(on: connection) { frame in
                switch frame {
                case .output(let index, let stream, let bytes) where index < pods.count:
                    kept[index].append(stream, bytes)
                    sink?.output(pod: pods[index], stream: stream, bytes: bytes)
                case .podResult(let index, var result) where index < pods.count && results[index] == nil:
                    result.pod = pods[index]
                    kept[index].store(in: &result)
                    sink?.finished(result)
                    results[index] = result
                default: break
                }
            }
        } catch {
            failure = error.message
        }
        return results.enumerated().map { index, result in
            if let result { return result }
            var missing = PodResult(pod: pods[index], status: .error)
            missing.errorKind = "mux"
            missing.errorMessage = failure ?? "the mux ended before this pod finished; see \(directory.log)"
            sink?.finished(missing)
            return missing
        }
    }

    /// Hands every frame to `handle` until the mux says it is done; returns the mux's failure message, or
    /// nil when it finished (pods without a result are reported by the caller).
    private func receive(on connection: ControlSocket, _ handle: (MuxFrame) -> Void) -> String? {
        do {
            while let frame = try connection.receive() {
                switch frame {
                case .done: return nil
                case .failure(let message): return message
                default: handle(frame)
                }
            }
            return nil
        } catch {
            return error.message
        }
    }

    enum TransferKind { case push, pull }

    /// push (`local` is the file) or pull (`local` is the directory) through the mux's sessions.
    func transfer(_ kind: TransferKind, local: String, remote: String, pods: [Pod], settings: ConnectionSettings,
                  fanout: Int, progress: ProgressLine?) throws(ControllerError) -> [TransferResult] {
        let request = MuxTransferRequest(pods: pods.map(Self.forMux), settings: Self.forMux(settings), fanout: fanout, idle: idle,
                                         local: Self.absolute(local), remote: remote)
        let connection: ControlSocket
        do { connection = try submit(kind == .push ? .push(request) : .pull(request)) } catch {
            // A local file the mux cannot read is the user's error, as without --persist.
            throw ControllerError(error.message.hasPrefix("cannot read") ? .transfer : .mux, error.message)
        }
        var results = [TransferResult?](repeating: nil, count: pods.count)
        let failure = receive(on: connection) { frame in
            if case .transferResult(let index, var result) = frame, index < pods.count, results[index] == nil {
                result.pod = pods[index]
                TransferCommand.count(result, on: progress)
                results[index] = result
            }
        }
        return results.enumerated().map { index, result in
            result ?? TransferResult(pod: pods[index], error: failure ?? "the mux ended before this pod finished; see \(directory.log)")
        }
    }

    /// Listens locally and hands each accepted connection to the mux, which carries it over the pod's kept session.
    func forward(pod: Pod, settings: ConnectionSettings, localPort: Int, remoteHost: String, remotePort: Int,
                 ready: (Int) -> Void, shouldStop: () -> Bool) throws(ControllerError) {
        let connection = try submit(.forward(MuxForwardRequest(pod: Self.forMux(pod), settings: Self.forMux(settings), idle: idle,
                                                               remoteHost: remoteHost, remotePort: remotePort)))
        switch try connection.receive() {
        case .ready?: break
        case .failure(let message)?: throw ControllerError(.ssh, "forward to \(pod.name): \(message)")
        default: throw ControllerError(.mux, "the mux ended the forward to \(pod.name) before it started; see \(directory.log)")
        }
        let listener: Int32
        let port: Int
        do {
            listener = try SSHSession.listen(port: localPort)
            port = try SSHSession.boundPort(listener)
        } catch {
            throw ControllerError(.ssh, "forward to \(pod.name): \(error.message)")
        }
        defer { close(listener) }
        ready(port)
        while !shouldStop() {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 2, 50)
            if fds[1].revents != 0 {
                throw ControllerError(.mux, "the mux ended the forward to \(pod.name); see \(directory.log)")
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { continue }
                // The mux gets its own copy of the descriptor; this one is closed either way.
                let sent = connection.sendDescriptor(client)
                close(client)
                if !sent { throw ControllerError(.mux, "the mux ended the forward to \(pod.name); see \(directory.log)") }
            }
        }
    }

    // MARK: status and stop

    /// The running mux's state; nil when none runs.
    static func status(directory: MuxDirectory) throws(ControllerError) -> MuxStatus? {
        let client = MuxClient(PersistSettings(idle: 0, directory: directory.path))
        guard let connection = try client.connect(start: false) else { return nil }
        guard connection.send(.request(MuxEnvelope(version: MuxEnvelope.currentVersion, request: .status))) else { return nil }
        switch try connection.receive() {
        case .status(let status)?: return status
        case .failure(let message)?: throw ControllerError(.mux, message)
        default: return nil
        }
    }

    /// Stops the running mux (its sessions closed, commands on them ended); false when none ran.
    static func stop(directory: MuxDirectory) throws(ControllerError) -> Bool {
        let client = MuxClient(PersistSettings(idle: 0, directory: directory.path))
        guard let connection = try client.connect(start: false) else { return false }
        guard connection.send(.request(MuxEnvelope(version: MuxEnvelope.currentVersion, request: .stop))) else { return false }
        while let frame = try connection.receive() {
            if case .done = frame { break }
            if case .failure(let message) = frame { throw ControllerError(.mux, message) }
        }
        // The socket goes when the mux has closed its sessions and is exiting.
        let deadline = ContinuousClock.now + .seconds(15)
        while FileManager.default.fileExists(atPath: directory.socket), ContinuousClock.now < deadline { usleep(20_000) }
        return true
    }
}
