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
import Logging
import NIOCore
import Plugins
import ServiceLifecycle
import Synchronization

/// Runs asynchronous jobs, at most `jobs.concurrency` at a time, and keeps them in a ``JobStore``.
///
/// Creating a runner recovers the store: jobs a previous run left `running` are marked `interrupted`
/// and queued to run once more (a job interrupted twice stays interrupted); queued jobs queue again;
/// damaged, misnamed or duplicate records are skipped and logged. A queued job starts only once its
/// model is ready (it waits up to the model's load timeout, without taking a concurrency slot), so
/// jobs queued across a restart do not fail while the model loads.
/// On shutdown, running jobs finish within the shutdown timeout; a job cut off then stays `running`
/// on disk, so the next start treats it as interrupted.
///
/// A job that ran is never run again because its record could not be written: when the disk is full
/// its outcome is kept as `failed` ("result not stored: disk full"), and if even that cannot be
/// written its file is removed.
public final class JobRunner: Service, Sendable {
    /// The runner, or 503 when there is none (no model plugin at all).
    static func require(_ runner: JobRunner?) throws(AgentError) -> JobRunner {
        guard let runner else { throw AgentError(.notReady, "inference is not enabled") }
        return runner
    }

    let store: JobStore
    let inference: InferenceService
    let settings: AgentConfig.Jobs
    /// How long a queued job waits for its model to become ready before it fails.
    let modelReadyTimeout: Duration
    let logger: Logger

    private struct State {
        var records: [String: JobRecord] = [:]
        var queue: [String] = []
        var running: [String: Task<Void, Never>] = [:]
        /// When each queued job first found its model not ready.
        var waitingSince: [String: ContinuousClock.Instant] = [:]
        /// A wakeup is already scheduled to look at waiting jobs again.
        var recheckScheduled = false
        /// Jobs the user cancelled while they ran (a shutdown cancels too, but leaves them to rerun).
        var cancelling: Set<String> = []
        var wakeup: AsyncStream<Void>.Continuation?
        var stopping = false
    }
    private let state = Mutex(State())

    /// How often jobs waiting for their model look again.
    static let readinessRecheck: Duration = .milliseconds(200)

    public init(store: JobStore, inference: InferenceService, settings: AgentConfig.Jobs, modelReadyTimeout: Duration = .seconds(900), logger: Logger) {
        self.store = store
        self.inference = inference
        self.settings = settings
        self.modelReadyTimeout = modelReadyTimeout
        self.logger = logger
        recover()
    }

    private func recover() {
        var records = store.loadAll()
        let now = Date()
        for index in records.indices {
            var record = records[index]
            switch record.state {
            case .running:
                record.interruptions += 1
                record.state = .interrupted
                record.finished_at = now
                logger.warning(record.mayRunAgain ? "job was interrupted by a restart; running it again" : "job was interrupted twice; not running it again",
                               metadata: ["job": "\(record.id)", "model": "\(record.model)"])
                persist(record)
            default:
                break
            }
            records[index] = record
        }
        let queue = records.filter { $0.state == .queued || $0.mayRunAgain }.sorted { $0.created_at < $1.created_at }.map(\.id)
        state.withLock { state in
            // The store skips duplicates already; keeping the first here too means no record can ever trap.
            state.records = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            state.queue = queue
        }
        updateGauges()
        prune()
    }

    // MARK: Requests

    /// Queues a job whose inputs and options were checked.
    /// - Throws: ``AgentError`` `.overloaded` when `jobs.max_queued` jobs already wait.
    func submit(model: String, inputs: JSONValue, options: JSONValue) throws(AgentError) -> JobRecord {
        let record = JobRecord(id: RandomID.uuid(), model: model, request: .init(inputs: inputs, options: options))
        let full = state.withLock { $0.queue.count >= settings.maxQueued }
        if full {
            throw AgentError(.overloaded, "\(settings.maxQueued) jobs are already waiting (jobs.max_queued)", retryAfterSeconds: 5)
        }
        try store.save(record)
        let wakeup = state.withLock { state in
            state.records[record.id] = record
            state.queue.append(record.id)
            return state.wakeup
        }
        inference.countJobSubmitted(model: model)
        updateGauges()
        wakeup?.yield()
        return record
    }

    public func job(_ id: String) -> JobRecord? {
        state.withLock { $0.records[id] }
    }

    /// Every job, newest first.
    public func jobs() -> [JobRecord] {
        state.withLock { Array($0.records.values) }.sorted { $0.created_at > $1.created_at }
    }

    /// Cancels a queued or running job.
    /// - Throws: ``AgentError`` `.notFound`, or `.conflict` when it already finished.
    func cancel(_ id: String) throws(AgentError) -> JobRecord {
        enum Step { case missing, finished(JobState), dequeued(JobRecord), running(Task<Void, Never>?, JobRecord) }
        let step: Step = state.withLock { state in
            guard var record = state.records[id] else { return .missing }
            if let task = state.running[id] {
                state.cancelling.insert(id)
                return .running(task, record)
            }
            if let position = state.queue.firstIndex(of: id) {
                state.queue.remove(at: position)
                state.waitingSince[id] = nil
                record.state = .cancelled
                record.finished_at = Date()
                record.error = .init(code: AgentError.Code.cancelled.rawValue, message: "cancelled before it started")
                state.records[id] = record
                return .dequeued(record)
            }
            return .finished(record.state)
        }
        switch step {
        case .missing:
            throw AgentError(.notFound, "no job '\(id)'")
        case .finished(let finalState):
            throw AgentError(.conflict, "job '\(id)' is already \(finalState.rawValue)")
        case .dequeued(let record):
            let stored = persistFinished(record)
            state.withLock { $0.records[id] = stored }
            recordFinished(stored)
            return stored
        case .running(let task, let record):
            task?.cancel()
            return record
        }
    }

    // MARK: Running

    public func run() async throws {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.wakeup = continuation }
        continuation.yield()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                for await _ in stream { await dispatch() }
            } onCancel: {
                continuation.finish()
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
        let running = state.withLock { state in
            state.stopping = true
            state.wakeup = nil
            return Array(state.running.values)
        }
        // Let running jobs finish until the service group gives up waiting and cancels us.
        await withTaskCancellationHandler {
            for task in running { await task.value }
        } onCancel: {
            for task in running { task.cancel() }
        }
    }

    /// Starts queued jobs whose model is ready, in order, while slots are free; jobs whose model is
    /// not ready stay queued (looked at again shortly) until it is, or fail after ``modelReadyTimeout``.
    private func dispatch() async {
        let models = state.withLock { state in state.stopping ? [] : Set(state.queue.compactMap { state.records[$0]?.model }) }
        guard !models.isEmpty else { return }
        var statuses: [String: ModelStatus?] = [:]
        for model in models { statuses.updateValue(await inference.status(of: model), forKey: model) }
        let now = ContinuousClock.now
        let timeout = modelReadyTimeout
        let (expired, recheck) = state.withLock { state -> ([JobRecord], Bool) in
            var expired: [JobRecord] = []
            var waiting = false
            var index = 0
            while index < state.queue.count, !state.stopping {
                let id = state.queue[index]
                guard var record = state.records[id] else {
                    state.queue.remove(at: index)
                    continue
                }
                guard let known = statuses[record.model] else {
                    waiting = true  // queued while this pass looked at the models: the next pass takes it
                    index += 1
                    continue
                }
                // An unknown model starts too: the run fails it with the engine's reason.
                if known?.isReady ?? true {
                    guard state.running.count < settings.concurrency else { break }
                    state.queue.remove(at: index)
                    state.waitingSince[id] = nil
                    record.state = .running
                    record.started_at = Date()
                    record.finished_at = nil
                    record.runs += 1
                    state.records[id] = record
                    let started = record
                    state.running[id] = Task { await self.execute(started) }
                    continue
                }
                let since = state.waitingSince[id] ?? now
                state.waitingSince[id] = since
                if now - since >= timeout {
                    state.queue.remove(at: index)
                    state.waitingSince[id] = nil
                    record.state = .failed
                    record.finished_at = Date()
                    record.error = .init(
                        code: AgentError.Code.notReady.rawValue,
                        message: "model \(record.model) was not ready within \(timeout) (its load timeout): \(known?.reason ?? known?.state.lowercased() ?? "not ready")")
                    state.records[id] = record
                    expired.append(record)
                    continue
                }
                waiting = true
                index += 1
            }
            let recheck = waiting && !state.recheckScheduled && !state.stopping
            if recheck { state.recheckScheduled = true }
            return (expired, recheck)
        }
        for record in expired {
            logger.warning("job failed: its model did not become ready", metadata: ["job": "\(record.id)", "model": "\(record.model)"])
            let stored = persistFinished(record)
            state.withLock { $0.records[record.id] = stored }
            recordFinished(stored)
        }
        updateGauges()
        if recheck {
            Task {
                try? await Task.sleep(for: Self.readinessRecheck)
                let wakeup = self.state.withLock { state in
                    state.recheckScheduled = false
                    return state.wakeup
                }
                wakeup?.yield()
            }
        }
    }

    private func execute(_ started: JobRecord) async {
        do {
            try store.save(started)
        } catch {
            // Not running it keeps the promise that a job runs once: its file would still say queued.
            var record = started
            record.state = .failed
            record.finished_at = Date()
            record.error = .init(code: error.code.rawValue, message: "not started: cannot store the job's state: \(error.message)")
            logger.error("job not started: cannot store its state", metadata: ["job": "\(record.id)", "error": "\(error.message)"])
            finish(record.id, record: persistFinished(record))
            return
        }
        var record = started
        do throws(AgentError) {
            let options = try InferenceOptions(record.request.options)
            let answer = try await inference.run(.init(id: record.id, model: record.model, inputs: record.request.inputs, options: options))
            record.state = .succeeded
            record.attempts = answer.attempts
            record.timings = answer.timings
            record.error = nil
            do {
                record.result = try JSONReader.parse(Array(answer.body.readableBytesView), source: "job result")
            } catch {
                record.state = .failed
                record.error = .init(code: AgentError.Code.internalError.rawValue, message: error.message)
            }
        } catch {
            let (userCancelled, stopping) = state.withLock { ($0.cancelling.contains(record.id), $0.stopping) }
            // Cut off by a shutdown: its task was cancelled, or the engine stopping under it (the
            // group's shutdown timeout cancels both at once, in either order) answered first that the
            // model is not ready or unavailable. Not the job's failure.
            let cutOff = Task.isCancelled || (stopping && (error.code == .notReady || error.code == .unavailable))
            if cutOff && !userCancelled {
                // A shutdown: leave the job running on disk, so the next start runs it again.
                logger.notice("job cut off by shutdown; it runs again on the next start", metadata: ["job": "\(record.id)"])
                finish(record.id, record: nil)
                return
            }
            if userCancelled {
                record.state = .cancelled
                record.error = .init(code: AgentError.Code.cancelled.rawValue, message: "cancelled while running")
            } else {
                record.state = error.code == .timeout ? .timed_out : .failed
                record.error = .init(code: error.code.rawValue, message: error.message)
            }
            logger.info("job \(record.state.rawValue)", metadata: ["job": "\(record.id)", "model": "\(record.model)", "error": "\(error.message)"])
        }
        record.finished_at = Date()
        finish(record.id, record: persistFinished(record))
        prune()
    }

    private func finish(_ id: String, record: JobRecord?) {
        let wakeup = state.withLock { state in
            if let record { state.records[id] = record }
            state.running[id] = nil
            state.cancelling.remove(id)
            return state.wakeup
        }
        if let record { recordFinished(record) }
        wakeup?.yield()
    }

    // MARK: Metrics

    private func recordFinished(_ record: JobRecord) {
        inference.countJobFinished(model: record.model, state: record.state)
        updateGauges()
    }

    /// The queued and running counts as gauges, after every change of either.
    private func updateGauges() {
        let (queued, running) = state.withLock { ($0.queue.count, $0.running.count) }
        inference.setJobGauges(queued: queued, running: running)
    }

    private func persist(_ record: JobRecord) {
        do {
            try store.save(record)
        } catch {
            logger.error("cannot store a job", metadata: ["job": "\(record.id)", "error": "\(error.message)"])
        }
    }

    /// Stores a job that will not run again and returns it as it now stands. When the store refuses
    /// (a full disk), a succeeded job becomes failed ("result not stored: disk full"), and that smaller
    /// record (without the request's inputs) is stored instead, after removing the job's earlier file
    /// if that is what it takes; if nothing can be stored, the file stays removed, so a restart never
    /// runs a finished job again. The runner keeps the returned record to answer with.
    private func persistFinished(_ record: JobRecord) -> JobRecord {
        let problem: AgentError
        do {
            try store.save(record)
            return record
        } catch {
            problem = error
        }
        var kept = record
        if kept.state == .succeeded {
            kept.state = .failed
            kept.result = nil
            kept.error = .init(
                code: problem.code.rawValue,
                message: "result not stored: \(problem.isDiskFull ? "disk full" : "the state directory cannot be written") (\(problem.message))")
        }
        kept.request.inputs = .null  // only a rerun needs them, and this job does not run again
        logger.error("cannot store a finished job; keeping it as \(kept.state.rawValue)", metadata: [
            "job": "\(record.id)", "model": "\(record.model)", "error": "\(problem.message)",
        ])
        if (try? store.save(kept)) != nil { return kept }
        store.delete(record.id)
        do {
            try store.save(kept)
        } catch {
            logger.error("a finished job's record was removed: it cannot be stored, and must not run again after a restart",
                         metadata: ["job": "\(record.id)", "error": "\(error.message)"])
        }
        return kept
    }

    /// Deletes finished jobs past `jobs.retention_hours`, then the oldest beyond `jobs.max_kept`.
    func prune(now: Date = Date()) {
        let doomed: [String] = state.withLock { state in
            let done = state.records.values.filter { $0.isDone && state.running[$0.id] == nil }
                .sorted { ($0.finished_at ?? $0.created_at) < ($1.finished_at ?? $1.created_at) }
            let cutoff = now.addingTimeInterval(-settings.retentionHours * 3600)
            var doomed = done.filter { ($0.finished_at ?? $0.created_at) < cutoff }.map(\.id)
            let kept = done.count - doomed.count
            if kept > settings.maxKept {
                doomed += done.filter { !doomed.contains($0.id) }.prefix(kept - settings.maxKept).map(\.id)
            }
            for id in doomed { state.records[id] = nil }
            return doomed
        }
        for id in doomed { store.delete(id) }
    }
}
