import Foundation
import Logging
import Plugins
import Testing

@testable import Agent

/// The job store's files as written before `JobRecord` wrapped the API's `Job`: they must still load,
/// and a record written now must be the same bytes.
@Suite("Job store: the on-disk format")
struct JobStoreFormatTests {
    /// A finished job, byte for byte as main at c344141 wrote it (sorted keys, ISO 8601 dates).
    static let succeeded = #"{"attempts":1,"created_at":"2026-11-28T10:00:00Z","finished_at":"2026-11-28T10:00:03Z","id":"0f6c2b1e-9a4d-4c1b-8f2e-3d5a7b9c1e20","interruptions":0,"model":"PETR","request":{"inputs":{"sample_id":"s1"},"options":{"infer_time_s":0.5}},"result":{"meta":{"sample_id":"s1"}},"runs":1,"started_at":"2026-11-28T10:00:01Z","state":"succeeded","timings":{"inference_s":1.5,"parse_s":0.25,"queue_s":0,"total_s":2}}"#
    /// A failed job with its error, interrupted once before.
    static let failed = #"{"attempts":2,"created_at":"2026-11-28T11:00:00Z","error":{"code":"timeout","message":"inference took longer than 30s"},"finished_at":"2026-11-28T11:01:00Z","id":"a1b2c3d4-0000-4000-8000-000000000001","interruptions":1,"model":"MapTR","request":{"inputs":{},"options":{}},"runs":2,"started_at":"2026-11-28T11:00:01Z","state":"failed"}"#
    /// A queued job: no dates but its creation, no timings, error or result.
    static let queued = #"{"attempts":0,"created_at":"2026-11-28T12:00:00Z","id":"a1b2c3d4-0000-4000-8000-000000000002","interruptions":0,"model":"VAD","request":{"inputs":{"sample_id":"q"},"options":{"format":"standard"}},"runs":0,"state":"queued"}"#

    static func store(with files: [String]) throws -> JobStore {
        let directory = try TestSupport.temporaryDirectory("jobstore")
        for text in files {
            let id = try #require(text.firstMatch(of: /"id":"([0-9a-f-]+)"/)?.1)
            try text.write(toFile: "\(directory)/\(id).json", atomically: true, encoding: .utf8)
        }
        return JobStore(directory: directory, logger: Logger(label: "test"))
    }

    @Test("records in today's format load with every field, and are written back as the same bytes")
    func todaysRecordsLoadAndRoundTrip() throws {
        let store = try Self.store(with: [Self.succeeded, Self.failed, Self.queued])
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let records = Dictionary(uniqueKeysWithValues: store.loadAll().map { ($0.id, $0) })
        #expect(records.count == 3)

        let done = try #require(records["0f6c2b1e-9a4d-4c1b-8f2e-3d5a7b9c1e20"])
        #expect(done.model == "PETR")
        #expect(done.state == .succeeded)
        #expect(done.created_at == Date(timeIntervalSince1970: 1_795_860_000))
        #expect(done.started_at == Date(timeIntervalSince1970: 1_795_860_001))
        #expect(done.finished_at == Date(timeIntervalSince1970: 1_795_860_003))
        #expect(done.attempts == 1 && done.runs == 1 && done.interruptions == 0)
        #expect(done.timings == InferenceTimings(queue_s: 0, inference_s: 1.5, parse_s: 0.25, total_s: 2))
        #expect(done.error == nil)
        #expect(done.result?["meta"]?["sample_id"]?.stringValue == "s1")
        #expect(done.request.inputs["sample_id"]?.stringValue == "s1")
        #expect(done.request.options["infer_time_s"] == .number(0.5))

        let failed = try #require(records["a1b2c3d4-0000-4000-8000-000000000001"])
        #expect(failed.state == .failed)
        #expect(failed.error == JobFailure(code: "timeout", message: "inference took longer than 30s"))
        #expect(failed.attempts == 2 && failed.runs == 2 && failed.interruptions == 1)
        #expect(failed.result == nil && failed.timings == nil)

        let queued = try #require(records["a1b2c3d4-0000-4000-8000-000000000002"])
        #expect(queued.state == .queued)
        #expect(queued.started_at == nil && queued.finished_at == nil)
        #expect(queued.request.options["format"]?.stringValue == "standard")

        // Saved again, each is the file it came from.
        for (original, id) in [(Self.succeeded, done.id), (Self.failed, failed.id), (Self.queued, queued.id)] {
            try store.save(try #require(records[id]))
            let written = try String(contentsOfFile: store.path(id), encoding: .utf8)
            #expect(written == original)
        }
    }
}
