#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where an asynchronous job is.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed, timed_out, cancelled, interrupted

    /// Whether the job will not change any more (an interrupted job may still run once more).
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .timed_out, .cancelled: true
        case .queued, .running, .interrupted: false
        }
    }
}

/// Why a job failed: the agent's error code (`timeout`, `not_ready`, ...) and message.
public struct JobFailure: Sendable, Codable, Equatable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// One job as `GET /jobs/{id}` and `DELETE /jobs/{id}` show it (dates in ISO 8601, ``AgentJSON``).
///
/// `Result` is how the caller reads the result: the agent writes the standard result or the asked-for
/// export format; a client decodes it into its own JSON type (Plugins' `JSONValue`, a `StandardResult`).
public struct Job<Result: Codable & Sendable & Equatable>: Sendable, Codable, Equatable {
    public var id: String
    public var model: String
    public var state: JobState
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
    public var error: JobFailure?
    /// Once succeeded; absent in `GET /jobs`, which lists jobs without their results.
    public var result: Result?

    public init(id: String, model: String, state: JobState, created_at: Date, started_at: Date?, finished_at: Date?,
                attempts: Int, runs: Int, interruptions: Int, timings: InferenceTimings?, error: JobFailure?, result: Result?) {
        (self.id, self.model, self.state, self.created_at, self.started_at, self.finished_at) =
            (id, model, state, created_at, started_at, finished_at)
        (self.attempts, self.runs, self.interruptions, self.timings, self.error, self.result) =
            (attempts, runs, interruptions, timings, error, result)
    }
}

/// `GET /jobs`: every kept job, without results.
public struct JobList<Result: Codable & Sendable & Equatable>: Sendable, Codable, Equatable {
    public var jobs: [Job<Result>]

    public init(jobs: [Job<Result>]) { self.jobs = jobs }
}

/// `POST /jobs`'s 202 answer: the new job's id (also in `Location: /jobs/{id}`).
public struct JobAccepted: Sendable, Codable, Equatable {
    public var id: String

    public init(id: String) { self.id = id }
}
