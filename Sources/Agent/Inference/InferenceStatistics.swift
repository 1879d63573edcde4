#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// Per-model request statistics in the shape of Triton's statistics extension
/// (`GET /v2/models[/{name}]/stats`): counts and cumulative nanoseconds since the agent started.
///
/// Recorded by ``InferenceService`` for every request that reaches a known model, whichever route
/// it came by (native, OIP, jobs); safe to record from any thread.
public final class InferenceStatistics: Sendable {
    /// A count and a total duration (Triton's `$duration_stat`).
    public struct Duration: Sendable, Equatable, Encodable {
        public var count: UInt64 = 0
        public var ns: UInt64 = 0

        mutating func add(_ seconds: Double) {
            count &+= 1
            ns &+= Self.nanoseconds(seconds)
        }

        /// Seconds as whole nanoseconds; negative or non-finite values (a clock step) count as 0.
        static func nanoseconds(_ seconds: Double) -> UInt64 {
            guard seconds.isFinite, seconds > 0 else { return 0 }
            let ns = (seconds * 1e9).rounded()
            return ns >= 0x1p63 ? UInt64(Int64.max) : UInt64(ns)
        }
    }

    /// One model's figures (Triton's `$model_stat` without the name and version).
    public struct Model: Sendable, Equatable {
        /// Milliseconds since the epoch of the last request, 0 before the first.
        public var lastInference: UInt64 = 0
        /// Successful inferences (one per request: podagent does not batch requests).
        public var inferenceCount: UInt64 = 0
        /// Successful model executions (one per successful request).
        public var executionCount: UInt64 = 0
        public var success = Duration()
        public var fail = Duration()
        public var queue = Duration()
        public var computeInput = Duration()
        public var computeInfer = Duration()
        public var computeOutput = Duration()
    }

    /// Where a successful request's time went, in seconds.
    public struct Phases: Sendable {
        /// The whole request, from its inputs' checks to its rendered answer.
        public var total: Double
        /// Waiting for a free worker.
        public var queue: Double
        /// Checking and resolving inputs, writing uploads, encoding the worker's request.
        public var input: Double
        /// The worker's round trip (the model, and moving its answer to the agent).
        public var infer: Double
        /// Parsing the answer into the standard result and rendering the response body.
        public var output: Double

        public init(total: Double, queue: Double, input: Double, infer: Double, output: Double) {
            (self.total, self.queue, self.input, self.infer, self.output) = (total, queue, input, infer, output)
        }
    }

    private let models = Mutex<[String: Model]>([:])
    private let now: @Sendable () -> Date

    /// - Parameter now: the wall clock for `last_inference` (tests pass their own).
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    /// Records a successful request of `model`.
    public func recordSuccess(model: String, _ phases: Phases) {
        let stamp = milliseconds(now())
        models.withLock { models in
            var entry = models[model, default: Model()]
            entry.lastInference = stamp
            entry.inferenceCount &+= 1
            entry.executionCount &+= 1
            entry.success.add(phases.total)
            entry.queue.add(phases.queue)
            entry.computeInput.add(phases.input)
            entry.computeInfer.add(phases.infer)
            entry.computeOutput.add(phases.output)
            models[model] = entry
        }
    }

    /// Records a failed request of `model` that took `seconds`.
    public func recordFailure(model: String, seconds: Double) {
        let stamp = milliseconds(now())
        models.withLock { models in
            var entry = models[model, default: Model()]
            entry.lastInference = stamp
            entry.fail.add(seconds)
            models[model] = entry
        }
    }

    /// The figures of `model`; all zero before its first request.
    public func snapshot(_ model: String) -> Model {
        models.withLock { $0[model] } ?? Model()
    }

    private func milliseconds(_ date: Date) -> UInt64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        return ms.isFinite && ms > 0 ? UInt64(ms) : 0
    }
}
