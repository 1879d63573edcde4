import CShims
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore
import Synchronization

/// Every open HTTP connection of the agent's server: how many there may be, which of them wait for a
/// request, and the one request each is serving (so a client that goes away cancels it).
///
/// Past ``limit`` a new connection makes room by closing the connection that has waited longest
/// without sending a whole request head (an idle keep-alive connection, or a slow client's trickle):
/// so slow or idle clients can never hold every slot and keep `/v2/health/live` from answering. Only
/// when every connection is in the middle of a request is the new one turned away (503).
final class ConnectionGuard: Sendable {
    /// Open connections at most.
    let limit: Int

    private struct Entry {
        let channel: any Channel
        let connection: ClientConnection
        /// Since when it waits for a request head; nil while it serves a request.
        var waitingSince: ContinuousClock.Instant?
        /// Being closed to make room; no longer counted against the limit.
        var evicted = false
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Entries closing to make room (still open, no longer counted).
        var closing = 0
    }
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Connections past ``limit`` that may be open at once while evicted ones finish closing.
    static let closingMargin = 16

    /// The most connections podagent can hold open: `configured`, but at most the open-file limit less
    /// `reserve` descriptors for everything else (worker pipes, uploads, the log, sshd's probes) and
    /// for connections still closing (``closingMargin``).
    static func effectiveLimit(configured: Int, reserve: Int = 64) -> Int {
        let soft = pa_nofile_limit()
        guard soft > 0 else { return configured }
        let available = Int(clamping: soft) - reserve
        return max(8, min(configured, available))
    }

    /// Registers a new connection; nil when it must be turned away (every slot serves a request).
    func open(_ channel: any Channel) -> ClientConnection? {
        let now = ContinuousClock.now
        let (connection, victim) = state.withLock { state -> (ClientConnection?, (any Channel)?) in
            var victim: (any Channel)?
            if state.entries.count - state.closing >= limit {
                let candidate = state.entries
                    .filter { !$0.value.evicted && $0.value.waitingSince != nil }
                    .min { ($0.value.waitingSince ?? now) < ($1.value.waitingSince ?? now) }
                guard let candidate else { return (nil, nil) }
                state.entries[candidate.key]?.evicted = true
                state.closing += 1
                victim = candidate.value.channel
            }
            let connection = ClientConnection()
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, connection: connection, waitingSince: now)
            return (connection, victim)
        }
        victim?.close(promise: nil)
        return connection
    }

    /// The connection serves a request now (its head arrived).
    func busy(_ channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.waitingSince = nil }
    }

    /// The connection's response is written; it waits for the next request.
    func idle(_ channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.waitingSince = .now }
    }

    func closed(_ channel: any Channel) {
        state.withLock { state in
            if let entry = state.entries.removeValue(forKey: ObjectIdentifier(channel)), entry.evicted { state.closing -= 1 }
        }
    }

    /// The connection a request arrived on.
    func connection(_ channel: any Channel) -> ClientConnection? {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.connection }
    }
}

/// One client connection as the request handlers see it: whether the client is still there, and the
/// task serving its current request, cancelled when the client goes away.
///
/// Cancelling that task is how a disconnect reaches the engine: a queued request leaves the model's
/// queue, a running one ends its worker's attempt as a deadline does.
final class ClientConnection: Sendable {
    private struct State {
        var task: TaskHandle?
        var gone = false
    }
    private let state = Mutex(State())

    /// The task of the request in progress. The handle is only used while the request runs: it is
    /// cleared (under the same lock ``clientGone()`` takes) before the request's task returns.
    private struct TaskHandle: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    /// Called by the request's own task before it is served.
    func beginRequest() {
        withUnsafeCurrentTask { task in
            guard let task else { return }
            state.withLock { state in
                if state.gone {
                    task.cancel()
                } else {
                    state.task = TaskHandle(task: task)
                }
            }
        }
    }

    /// Called by the request's own task once it is served.
    func endRequest() {
        state.withLock { $0.task = nil }
    }

    /// The client closed its side or the connection dropped: cancel the request it was waiting for.
    func clientGone() {
        state.withLock { state in
            state.gone = true
            state.task?.task.cancel()
            state.task = nil
        }
    }

    var isGone: Bool { state.withLock { $0.gone } }
}
