import Foundation
import Testing

@testable import Agent

/// Issue #13, item 1 and 5: a full or damaged state directory never takes podagent down, and nothing
/// is lost silently. Real podagent processes on a tmpfs state directory the test mounts (2 MiB) and fills.
@Suite("Faults: a full or damaged state disk (real podagent on a tmpfs)", .serialized)
struct FaultFullDiskTests {
    @Test("the log file on a full disk stops writing, says so once on stderr and in /health, and podagent keeps serving")
    func logFileStopsOnAFullDisk() async throws {
        try await withTmpfs { disk in
            let agent = try await FaultAgent.start(stateDir: disk.path + "/state", yaml: "log:\n  level: debug\n")
            try await FaultAgent.waitFor(agent, "/v2/health/ready")
            try await disk.fill()
            // Each request logs (debug); a failing inference logs errors and keeps failures.jsonl too.
            for index in 0..<40 {
                _ = try? await FaultAgent.send(agent, "POST", "/models/Demo/infer", json: ["inputs": ["sample_id": "s\(index)"], "options": ["fail": "error"]])
                _ = try? await FaultAgent.send(agent, "GET", "/v2/health/live")
            }
            #expect(agent.child.exitStatus == nil, "podagent died on a full disk: \(agent.child.exitStatus.map { "\($0)" } ?? ""); log:\n\(agent.log.suffix(2000))")
            let live = try await FaultAgent.send(agent, "GET", "/v2/health/live")
            #expect(live.status == 200)
            let health = try #require(try await FaultAgent.send(agent, "GET", "/health").json)
            let logFile = try #require(health["log_file"] as? [String: Any], "no log_file in /health")
            #expect(logFile["state"] as? String == "stopped")
            #expect((logFile["error"] as? String)?.contains("No space left on device") == true, "\(logFile)")
            #expect((logFile["dropped_lines"] as? Int ?? 0) > 0)
            let notices = agent.log.components(separatedBy: "\n").filter { $0.contains("stopped writing") }
            #expect(notices.count == 1, "the stop is said once on stderr, got \(notices.count):\n\(notices.joined(separator: "\n"))")
            // Still serving inference, and a job's record that cannot be written is a clean 507.
            let ok = try await FaultAgent.send(agent, "POST", "/models/Demo/infer", json: ["inputs": ["sample_id": "after"]])
            #expect(ok.status == 200, "\(ok.text)")
            let job = try await FaultAgent.send(agent, "POST", "/jobs", json: ["model": "Demo", "inputs": ["sample_id": "j"]])
            #expect(job.status == 507 && job.text.contains("No space left on device"), "\(job.status) \(job.text)")
            #expect(await agent.stop() == .exited(0))
        }
    }

    @Test("a finished job whose result cannot be stored is failed 'result not stored: disk full' and never runs again")
    func finishedJobOnAFullDiskIsNotRunAgain() async throws {
        try await withTmpfs { disk in
            let state = disk.path + "/state"
            let agent = try await FaultAgent.start(stateDir: state, yaml: "log:\n  file: \"off\"\n")
            try await FaultAgent.waitFor(agent, "/v2/health/ready")
            // A result big enough not to fit: 300 boxes.
            let submitted = try await FaultAgent.send(
                agent, "POST", "/jobs", json: ["model": "Demo", "inputs": ["sample_id": "big"], "options": ["infer_time_s": 3, "detections": 300]])
            #expect(submitted.status == 202, "\(submitted.text)")
            let id = try #require(submitted.json?["id"] as? String)
            #expect(await eventually { (try? await FaultAgent.send(agent, "GET", "/jobs/\(id)").json?["state"] as? String) == "running" })
            let filler = try await disk.fill()
            var final: [String: Any] = [:]
            #expect(await eventually {
                final = (try? await FaultAgent.send(agent, "GET", "/jobs/\(id)").json) ?? [:]
                return final["state"] as? String != "running" && final["state"] as? String != "queued"
            })
            #expect(final["state"] as? String == "failed", "\(final)")
            let message = (final["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("result not stored: disk full"), "\(final)")
            #expect(agent.child.exitStatus == nil)
            #expect(await agent.stop() == .exited(0))

            // More space, a restart: the job is still failed, ran once, and does not run again.
            unlink(filler)
            let again = try await FaultAgent.start(stateDir: state, yaml: "log:\n  file: \"off\"\n")
            try await FaultAgent.waitFor(again, "/v2/health/ready")
            try await Task.sleep(for: .seconds(2))
            let after = try await FaultAgent.send(again, "GET", "/jobs/\(id)")
            if after.status == 200 {
                let record = try #require(after.json)
                #expect(record["state"] as? String == "failed" && record["runs"] as? Int == 1, "\(record)")
            } else {
                #expect(after.status == 404, "the job is either kept as failed or gone, never rerun: \(after.status) \(after.text)")
            }
            #expect(await again.stop() == .exited(0))
        }
    }

    @Test("start-up on a full and damaged state directory works: damaged, misnamed and duplicate job records are skipped")
    func startsOnAFullDamagedStateDirectory() async throws {
        try await withTmpfs { disk in
            let state = disk.path + "/state"
            // A first run leaves one real job record behind.
            let first = try await FaultAgent.start(stateDir: state)
            try await FaultAgent.waitFor(first, "/v2/health/ready")
            let submitted = try await FaultAgent.send(first, "POST", "/jobs", json: ["model": "Demo", "inputs": ["sample_id": "kept"]])
            let id = try #require(submitted.json?["id"] as? String)
            #expect(await eventually { (try? await FaultAgent.send(first, "GET", "/jobs/\(id)").json?["state"] as? String) == "succeeded" })
            #expect(await first.stop() == .exited(0))

            // Damage: the same record under a second name, a truncated record, a directory named like a
            // record, garbage in failures.jsonl, a file where the uploads directory goes.
            let jobs = state + "/jobs"
            let record = try Data(contentsOf: URL(fileURLWithPath: "\(jobs)/\(id).json"))
            let twin = UUID().uuidString.lowercased()
            try record.write(to: URL(fileURLWithPath: "\(jobs)/\(twin).json"))
            try Data(record.prefix(record.count / 2)).write(to: URL(fileURLWithPath: "\(jobs)/\(UUID().uuidString.lowercased()).json"))
            try FileManager.default.createDirectory(atPath: "\(jobs)/\(UUID().uuidString.lowercased()).json", withIntermediateDirectories: true)
            try Data([0xFF, 0xFE, 0x00, 0x0A, 0x7B]).write(to: URL(fileURLWithPath: state + "/failures.jsonl"))
            try? FileManager.default.removeItem(atPath: state + "/uploads")
            try Data("not a directory".utf8).write(to: URL(fileURLWithPath: state + "/uploads"))
            // Uploads for workers of another user go to TMPDIR: that is on the full disk too.
            let temporary = disk.path + "/tmp"
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            try await disk.fill()

            // stderr goes to the same full disk: a message podagent cannot write must not kill it either.
            let agent = try await FaultAgent.start(stateDir: state, environment: ["TMPDIR": temporary], stderrFile: disk.path + "/stderr.log")
            try await FaultAgent.waitFor(agent, "/v2/health/ready")
            let kept = try await FaultAgent.send(agent, "GET", "/jobs/\(id)")
            #expect(kept.status == 200 && kept.json?["state"] as? String == "succeeded", "\(kept.text)")
            let listed = try #require(try await FaultAgent.send(agent, "GET", "/jobs").json?["jobs"] as? [[String: Any]])
            #expect(listed.map { $0["id"] as? String } == [id], "the duplicate and damaged records are skipped: \(listed)")
            // Inference still works; an upload that cannot be stored is a clean 507, not a crash.
            let ok = try await FaultAgent.send(agent, "POST", "/models/Demo/infer", json: ["inputs": ["sample_id": "x"]])
            #expect(ok.status == 200, "\(ok.text)")
            let upload = try await FaultAgent.send(
                agent, "POST", "/models/Demo/infer",
                json: ["inputs": ["sample_id": "u", "img_path": ["base64": Data(repeating: 7, count: 4096).base64EncodedString(), "filename": "a.bin"]]])
            #expect(upload.status == 507 && upload.text.contains("No space left on device"), "\(upload.status) \(upload.text)")
            #expect(agent.child.exitStatus == nil)
            #expect(await agent.stop() == .exited(0))
        }
    }
}
