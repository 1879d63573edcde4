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
