import Synchronization

/// The state of one managed part (sshd, a model's workers, the image's command) as /health shows it.
public struct PartStatus: Sendable, Equatable, Codable {
    /// Whether this part lets the pod serve.
    public var ready: Bool
    /// A short state word: starting, running, crash_loop, stopped, disabled...
    public var state: String
    /// Why the part is not ready; nil when it is.
    public var reason: String?
    /// Facts about the part worth showing (fingerprints, restarts, pids).
    public var details: [String: String]

    public init(ready: Bool, state: String, reason: String? = nil, details: [String: String] = [:]) {
        self.ready = ready
        self.state = state
        self.reason = reason
        self.details = details
    }
}

/// Every managed part's readiness: `/v2/health/ready` is ready when each part is.
///
/// Parts report here; they are not polled, so a readiness check never waits on one.
public final class ReadinessRegistry: Sendable {
    private let parts = Mutex<[String: PartStatus]>([:])

    public init() {}

    /// Records the current status of the part named `name`.
    public func update(_ name: String, _ status: PartStatus) {
        parts.withLock { $0[name] = status }
    }

    /// Forgets a part that is no longer managed.
    public func remove(_ name: String) {
        _ = parts.withLock { $0.removeValue(forKey: name) }
    }

    /// Every part's status, by name.
    public var snapshot: [String: PartStatus] { parts.withLock { $0 } }

    /// Ready when every part is; otherwise the reasons, one per part that is not, sorted by part name.
    public func evaluate() -> (ready: Bool, reasons: [String]) {
        let reasons = snapshot.sorted { $0.key < $1.key }.compactMap { name, status in
            status.ready ? nil : "\(name): \(status.reason ?? status.state)"
        }
        return (reasons.isEmpty, reasons)
    }
}
