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

/// One asynchronous job as stored in `<state_dir>/jobs/<id>.json`: the job as the API shows it
/// (``Job``: one field list for the API and the store) and what only the store keeps, the submitted
/// request, so the job can run again after a restart.
///
/// On disk the job's fields and `request` are the keys of one JSON object, as they always were.
/// The job's fields read and write through the record (`record.state`, `record.error`).
@dynamicMemberLookup
public struct JobRecord: Sendable, Codable, Equatable {
    /// What was submitted.
    public struct Submission: Sendable, Codable, Equatable {
        public var inputs: JSONValue
        public var options: JSONValue
    }

    /// The job as `GET /jobs/{id}` shows it.
    public var job: JobView
    public var request: Submission

    init(id: String, model: String, request: Submission, now: Date = Date()) {
        job = JobView(
            id: id, model: model, state: .queued, created_at: now, started_at: nil, finished_at: nil,
            attempts: 0, runs: 0, interruptions: 0, timings: nil, error: nil, result: nil)
        self.request = request
    }

    public subscript<Field>(dynamicMember field: WritableKeyPath<JobView, Field>) -> Field {
        get { job[keyPath: field] }
        set { job[keyPath: field] = newValue }
    }

    /// A job interrupted a second time is not run again.
    var mayRunAgain: Bool { job.state == .interrupted && job.interruptions < 2 }

    /// Finished for good: kept for reading until retention deletes it.
    var isDone: Bool { job.state.isFinal || (job.state == .interrupted && !mayRunAgain) }

    private enum StoreKeys: String, CodingKey { case request }

    public init(from decoder: any Decoder) throws {
        job = try JobView(from: decoder)
        request = try decoder.container(keyedBy: StoreKeys.self).decode(Submission.self, forKey: .request)
    }

    /// The job's keys and `request` side by side in one object.
    public func encode(to encoder: any Encoder) throws {
        try job.encode(to: encoder)
        var container = encoder.container(keyedBy: StoreKeys.self)
        try container.encode(request, forKey: .request)
    }
}

/// How a job is shown: everything but the stored request; the list leaves out results too.
public typealias JobView = Job<JSONValue>

extension Job where Result == JSONValue {
    init(_ record: JobRecord, withResult: Bool = true) {
        self = record.job
        if !withResult { result = nil }
    }
}
