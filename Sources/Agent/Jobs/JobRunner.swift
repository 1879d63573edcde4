import Foundation
import Logging
import Plugins
import ServiceLifecycle
import Synchronization

/// Runs asynchronous jobs, at most `jobs.concurrency` at a time, and keeps them in a ``JobStore``.
///
/// Creating a runner recovers the store: jobs a previous run left `running` are marked `interrupted`
/// and queued to run once more (a job interrupted twice stays interrupted); queued jobs queue again.
/// On shutdown, running jobs finish within the shutdown timeout; a job cut off then stays `running`
/// on disk, so the next start treats it as interrupted.
public final class JobRunner: Service, Sendable {
    let store: JobStore
    let inference: InferenceService
    let settings: AgentConfig.Jobs
    let logger: Logger

    private struct State {
        var records: [String: JobRecord] = [:]
        var queue: [String] = []
        var running: [String: Task<Void, Never>] = [:]
        /// Jobs the user cancelled while they ran (a shutdown cancels too, but leaves them to rerun).
        var cancelling: Set<String> = []
        var wakeup: AsyncStream<Void>.Continuation?
        var stopping = false
    }
    private let state = Mutex(State())

    public init(store: JobStore, inference: InferenceService, settings: AgentConfig.Jobs, logger: Logger) {
        self.store = store
        self.inference = inference
        self.settings = settings
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
            state.records = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
            state.queue = queue
        }
        updateGauges()
        prune()
    }

    // MARK: Requests

    /// Queues a job whose inputs and options were checked.
    /// - Throws: ``AgentError`` `.overloaded` when `jobs.max_queued` jobs already wait.
    func submit(model: String, inputs: JSONValue, options: JSONValue) throws(AgentError) -> JobRecord {
        let record = JobRecord(id: UUID().uuidString.lowercased(), model: model, request: .init(inputs: inputs, options: options))
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
        inference.metrics?.count("jobs_submitted", help: "Jobs accepted, by model", labels: [("model", model)])
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
        enum Step { case missing, finished(JobRecord.State), dequeued(JobRecord), running(Task<Void, Never>?, JobRecord) }
        let step: Step = state.withLock { state in
            guard var record = state.records[id] else { return .missing }
            if let task = state.running[id] {
                state.cancelling.insert(id)
                return .running(task, record)
            }
            if let position = state.queue.firstIndex(of: id) {
                state.queue.remove(at: position)
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
            persist(record)
            recordFinished(record)
            return record
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
                for await _ in stream { startWhatFits() }
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

    private func startWhatFits() {
        state.withLock { state in
            while !state.stopping, state.running.count < settings.concurrency, !state.queue.isEmpty {
                let id = state.queue.removeFirst()
                guard var record = state.records[id] else { continue }
                record.state = .running
                record.started_at = Date()
                record.finished_at = nil
                record.runs += 1
                state.records[id] = record
                let started = record
                state.running[id] = Task { await self.execute(started) }
            }
        }
        updateGauges()
    }

    private func execute(_ started: JobRecord) async {
        persist(started)
        var record = started
        do throws(AgentError) {
            let options = try InferenceOptions(record.request.options)
            let answer = try await inference.run(.init(id: record.id, model: record.model, inputs: record.request.inputs, options: options))
            record.state = .succeeded
            record.attempts = answer.outcome.attempts
            record.timings = answer.outcome.timings
            record.error = nil
            do {
                record.result = try JSONReader.parse(answer.body, source: "job result")
            } catch {
                record.state = .failed
                record.error = .init(code: AgentError.Code.internalError.rawValue, message: error.message)
            }
        } catch {
            let userCancelled = state.withLock { $0.cancelling.contains(record.id) }
            if Task.isCancelled && !userCancelled {
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
        persist(record)
        finish(record.id, record: record)
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
        inference.metrics?.count("jobs_finished", help: "Jobs that ended, by model and final state",
                                 labels: [("model", record.model), ("state", record.state.rawValue)])
        updateGauges()
    }

    /// The queued and running counts as gauges, after every change of either.
    private func updateGauges() {
        guard let metrics = inference.metrics else { return }
        let (queued, running) = state.withLock { ($0.queue.count, $0.running.count) }
        metrics.gauge("jobs", unit: "count", help: "Jobs waiting or running now", labels: [("state", "queued")], value: Double(queued))
        metrics.gauge("jobs", unit: "count", help: "Jobs waiting or running now", labels: [("state", "running")], value: Double(running))
    }

    private func persist(_ record: JobRecord) {
        do {
            try store.save(record)
        } catch {
            logger.error("cannot store a job", metadata: ["job": "\(record.id)", "error": "\(error.message)"])
        }
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
