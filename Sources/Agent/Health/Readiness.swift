import Synchronization

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
