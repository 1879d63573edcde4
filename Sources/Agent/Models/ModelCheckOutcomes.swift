#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The checks before inference's outcome for each enabled model, as an async value: the engine
/// waits on it before starting a model's workers (readiness only reports it).
public final class ModelCheckOutcomes: Sendable {
    /// What the checks found for one model.
    public enum Outcome: Sendable, Equatable {
        case passed
        /// Every problem, joined.
        case failed(String)
    }

    private struct State {
        var outcomes: [String: Outcome] = [:]
        var waiters: [String: [UInt64: CheckedContinuation<Outcome?, Never>]] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Records `model`'s outcome and wakes whoever waits on it. The first outcome counts.
    public func publish(_ model: String, _ outcome: Outcome) {
        let waiting = state.withLock { state -> [CheckedContinuation<Outcome?, Never>] in
            guard state.outcomes[model] == nil else { return [] }
            state.outcomes[model] = outcome
            return Array((state.waiters.removeValue(forKey: model) ?? [:]).values)
        }
        for waiter in waiting { waiter.resume(returning: outcome) }
    }

    /// Waits until `model` was checked; nil when the calling task is cancelled first.
    public func outcome(of model: String) async -> Outcome? {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome?, Never>) in
                let known = state.withLock { state -> Outcome?? in
                    if let outcome = state.outcomes[model] { return .some(outcome) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[model, default: [:]][id] = continuation
                    return .none
                }
                if case .some(let answer) = known { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters[model]?.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}
