import Foundation
import Plugins

/// One asynchronous job as stored in `<state_dir>/jobs/<id>.json`: what was asked (so it can run
/// again after a restart), where it is, and its result once done.
public struct JobRecord: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case queued, running, succeeded, failed, timed_out, cancelled, interrupted

        /// Whether the job will not change any more (an interrupted job may still run once more).
        public var isFinal: Bool {
            switch self {
            case .succeeded, .failed, .timed_out, .cancelled: true
            case .queued, .running, .interrupted: false
            }
        }
    }

    public struct Failure: Sendable, Codable, Equatable {
        public var code: String
        public var message: String
    }

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
struct JobView: Encodable {
    var id: String
    var model: String
    var state: String
    var created_at: Date
    var started_at: Date?
    var finished_at: Date?
    var attempts: Int
    var runs: Int
    var interruptions: Int
    var timings: InferenceTimings?
    var error: JobRecord.Failure?
    var result: JSONValue?

    init(_ record: JobRecord, withResult: Bool = true) {
        id = record.id
        model = record.model
        state = record.state.rawValue
        created_at = record.created_at
        started_at = record.started_at
        finished_at = record.finished_at
        attempts = record.attempts
        runs = record.runs
        interruptions = record.interruptions
        timings = record.timings
        error = record.error
        result = withResult ? record.result : nil
    }
}
