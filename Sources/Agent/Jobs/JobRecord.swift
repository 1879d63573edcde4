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
import Plugins

/// One asynchronous job as stored in `<state_dir>/jobs/<id>.json`: what was asked (so it can run
/// again after a restart), where it is, and its result once done.
public struct JobRecord: Sendable, Codable, Equatable {
    /// Where the job is (the API's ``JobState``).
    public typealias State = JobState
    /// Why the job failed (the API's ``JobFailure``).
    public typealias Failure = JobFailure

    /// What was submitted.
    public struct Submission: Sendable, Codable, Equatable {
        public var inputs: JSONValue
        public var options: JSONValue
    }

    public var id: String
    public var model: String
    public var state: State
    public var created_at: Date
    public var started_at: Date?
    public var finished_at: Date?
    /// The engine's attempts in the last run (1 when its first attempt succeeded).
    public var attempts: Int
    /// How often the job started (1, or 2 after an interruption).
    public var runs: Int
    /// How often a restart found the job running.
    public var interruptions: Int
    public var timings: InferenceTimings?
    public var error: Failure?
    /// The standard result (or the asked-for export format) once succeeded.
    public var result: JSONValue?
    public var request: Submission

    init(id: String, model: String, request: Submission, now: Date = Date()) {
        self.id = id
        self.model = model
        self.state = .queued
        self.created_at = now
        self.attempts = 0
        self.runs = 0
        self.interruptions = 0
        self.request = request
    }

    /// A job interrupted a second time is not run again.
    var mayRunAgain: Bool { state == .interrupted && interruptions < 2 }

    /// Finished for good: kept for reading until retention deletes it.
    var isDone: Bool { state.isFinal || (state == .interrupted && !mayRunAgain) }
}

/// How a job is shown: everything but the stored request; the list leaves out results too.
typealias JobView = Job<JSONValue>

extension Job where Result == JSONValue {
    init(_ record: JobRecord, withResult: Bool = true) {
        self.init(
            id: record.id, model: record.model, state: record.state, created_at: record.created_at, started_at: record.started_at,
            finished_at: record.finished_at, attempts: record.attempts, runs: record.runs, interruptions: record.interruptions,
            timings: record.timings, error: record.error, result: withResult ? record.result : nil)
    }
}
