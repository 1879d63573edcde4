import Synchronization

/// What `GET /v2/ssh/host-keys` can say about sshd's host keys. The sshd service publishes here;
/// the HTTP controller only reads, so neither knows the other.
public final class HostKeyBoard: Sendable {
    /// Where the keys stand.
    public enum State: Sendable, Equatable {
        /// podagent does not run sshd: the keys of whatever sshd the pod has are unknown to it.
        case notManaged(reason: String)
        /// sshd is managed but its keys are not ready yet (first preparation running).
        case preparing
        /// Preparing sshd failed before any key was published.
        case failed(reason: String)
        /// The keys sshd serves (its HostKey lines), in the order sshd offers them.
        case ready([SSHHostKey])
    }

    private let state: Mutex<State>

    public init(_ initial: State = .notManaged(reason: "sshd is not managed by this podagent")) {
        state = Mutex(initial)
    }

    public var current: State { state.withLock { $0 } }

    public func publish(_ new: State) { state.withLock { $0 = new } }

    /// Records a failure unless keys were already published: after a refused reload the running
    /// sshd keeps serving the keys it has.
    public func publishFailure(_ reason: String) {
        state.withLock { current in
            if case .ready = current { return }
            current = .failed(reason: reason)
        }
    }
}
