import Foundation
import PodAgentExtras
import SSHClient

/// A kept session's owner, living on its thread: the libssh session, its channel loop, work waiting for a
/// free channel.
final class SessionDriver {
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
                end(SessionExecEnd(outcome: .failure(failure), session: label, connectMs: connectMs, runStarted: nil, connected: false))
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
