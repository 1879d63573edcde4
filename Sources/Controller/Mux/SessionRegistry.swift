import Foundation
import SSHClient
import Synchronization

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
