import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Plugins
import Testing

@testable import Agent

/// Asynchronous jobs over the real engine (each model's worker is the stand-in: the Demo worker in its raw format).
@Suite("HTTP API: jobs (store, runner, cancel, restart, retention)", .serialized)
struct JobsAPITests {
    /// Runs the agent's job runner (the service the runtime runs) while `body` runs.
    static func withRunner<T>(_ runner: JobRunner, _ body: () async throws -> T) async throws -> T {
        let task = Task { try await runner.run() }
        do {
            let value = try await body()
            task.cancel()
            _ = try? await task.value
            return value
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
    }

    static func state(_ client: any TestClientProtocol, _ harness: APIHarness, _ id: String) async throws -> [String: Any] {
        try await client.execute(uri: "/jobs/\(id)", method: .get, headers: harness.auth) { response in
            #expect(response.status == .ok)
            return response.body.object
        }
    }

    static func waitFor(_ wanted: String, _ client: any TestClientProtocol, _ harness: APIHarness, _ id: String) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        let reached = try await eventually(timeout: .seconds(60)) {
            last = try await state(client, harness, id)
            return last["state"] as? String == wanted
        }
        #expect(reached, "job \(id) never reached \(wanted); last: \(last)")
        return last
    }

    @Test("submit, run, read the result; the list leaves results out; bad jobs fail at submit", arguments: [false, true])
    func lifecycle(live: Bool) async throws {
        try await withHarness { harness in
            let runner = try #require(harness.agent.jobs)
            let image = try harness.dataFile("cam.jpg")
            try await Self.withRunner(runner) {
                try await harness.test(live: live) { client in
                    let body = try jsonBody(["model": "petr", "inputs": ["sample_id": "job-1", "img_path": image], "options": ["score_threshold": 0, "detections": 7]])
                    let id = try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders, body: body) { response in
                        #expect(response.status == .accepted)
                        return try #require(response.body.object["id"] as? String)
                    }
                    let done = try await Self.waitFor("succeeded", client, harness, id)
                    #expect(done["model"] as? String == "PETR")
                    #expect(done["attempts"] as? Int == 1)
                    #expect(done["created_at"] is String && done["started_at"] is String && done["finished_at"] is String)
                    #expect((done["timings"] as? [String: Double])?["total_s"] != nil)
                    let result = try #require(done["result"] as? [String: Any])
                    #expect((result["detections"] as? [Any])?.count == 7)
                    #expect(done["request"] == nil, "the stored request is not shown")
                    try await client.execute(uri: "/jobs", method: .get, headers: harness.auth) { response in
                        let jobs = try #require(response.body.object["jobs"] as? [[String: Any]])
                        #expect(jobs.count == 1 && jobs[0]["id"] as? String == id && jobs[0]["result"] == nil)
                    }
                    // A failing job records why.
                    let failing = try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders,
                                                           body: try jsonBody(["model": "PETR", "inputs": [:], "options": ["fail": "error"]])) { response in
                        try #require(response.body.object["id"] as? String)
                    }
                    let failed = try await Self.waitFor("failed", client, harness, failing)
                    #expect((failed["error"] as? [String: Any])?["message"] as? String != nil)
                    // A job past its deadline is timed_out.
                    let hanging = try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders,
                                                           body: try jsonBody(["model": "PETR", "inputs": [:], "options": ["fail": "hang", "timeout_s": 1]])) { response in
                        try #require(response.body.object["id"] as? String)
                    }
                    let timedOut = try await Self.waitFor("timed_out", client, harness, hanging)
                    #expect((timedOut["error"] as? [String: Any])?["code"] as? String == "timeout")
                    try await client.execute(uri: "/metrics", method: .get, headers: harness.auth) { response in
                        let text = String(buffer: response.body)
                        for line in [#"podagent_jobs_submitted_total{model="PETR"} 3"#,
                                     #"podagent_jobs_finished_total{model="PETR",state="succeeded"} 1"#,
                                     #"podagent_jobs_finished_total{model="PETR",state="failed"} 1"#,
                                     #"podagent_jobs_finished_total{model="PETR",state="timed_out"} 1"#,
                                     #"podagent_jobs_count{state="queued"} 0"#, #"podagent_jobs_count{state="running"} 0"#] {
                            #expect(text.contains(line), "no '\(line)' in /metrics:\n\(text.split(separator: "\n").filter { $0.contains("jobs") }.joined(separator: "\n"))")
                        }
                    }
                    try await client.execute(uri: "/jobs/not-a-job", method: .get, headers: harness.auth) { #expect($0.status == .notFound) }
                    try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders, body: try jsonBody(["inputs": [:]])) { response in
                        #expect(response.status == .badRequest)
                    }
                }
            }
        }
    }

    @Test("DELETE cancels a running job (its worker is ended) and a queued one; a finished job is 409")
    func cancel() async throws {
        try await withHarness(configure: { $0.jobs.concurrency = 1 }) { harness in
            let runner = try #require(harness.agent.jobs)
            let workerBefore = await harness.workerPID("PETR")
            try await Self.withRunner(runner) {
                try await harness.test(live: true) { client in
                    let slow = try jsonBody(["model": "PETR", "inputs": [:], "options": ["infer_time_s": 60]])
                    let running = try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders, body: slow) { try #require($0.body.object["id"] as? String) }
                    let queued = try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders, body: slow) { try #require($0.body.object["id"] as? String) }
                    _ = try await Self.waitFor("running", client, harness, running)
                    #expect(try await Self.state(client, harness, queued)["state"] as? String == "queued")
                    try await client.execute(uri: "/jobs/\(queued)", method: .delete, headers: harness.auth) { response in
                        #expect(response.status == .accepted)
                        #expect(response.body.object["state"] as? String == "cancelled")
                    }
                    try await client.execute(uri: "/jobs/\(running)", method: .delete, headers: harness.auth) { #expect($0.status == .accepted) }
                    let cancelled = try await Self.waitFor("cancelled", client, harness, running)
                    #expect((cancelled["error"] as? [String: Any])?["code"] as? String == "cancelled")
                    try await client.execute(uri: "/jobs/\(running)", method: .delete, headers: harness.auth) { response in
                        #expect(response.status == .conflict)
                    }
                    // The cancelled job's stored state says so too.
                    let stored = try String(contentsOfFile: harness.stateDir + "/jobs/\(running).json", encoding: .utf8)
                    #expect(stored.contains(#""state":"cancelled""#))
                }
            }
            #expect(await eventually { await harness.workerPID("PETR") != nil }, "a new worker replaced the ended one")
            let workerAfter = await harness.workerPID("PETR")
            #expect(workerBefore != workerAfter, "the worker that ran the cancelled job was ended")
            if let workerBefore { #expect(kill(workerBefore, 0) != 0) }
        }
    }

    @Test("a restart: the finished job stays readable; the running one is marked interrupted and runs again once; twice interrupted stays interrupted")
    func restart() async throws {
        try await withHarness(models: ["PETR", "MapTR"], configure: { $0.jobs.concurrency = 2 }) { harness in
            let service = try #require(harness.agent.inference)
            let store = JobStore(directory: harness.stateDir + "/jobs", logger: harness.agent.logger)
            func makeRunner() -> JobRunner {
                JobRunner(store: JobStore(directory: store.directory, logger: harness.agent.logger), inference: service, settings: harness.agent.config.jobs, logger: harness.agent.logger)
            }
            // First life: one job finishes; two are running when the agent goes away.
            let first = makeRunner()
            let finished = try first.submit(model: "PETR", inputs: .object([("sample_id", .string("done"))]), options: .object([]))
            let firstTask = Task { try await first.run() }
            #expect(await eventually { first.job(finished.id)?.state == .succeeded })
            let resumable = try first.submit(model: "PETR", inputs: .object([]), options: .object([("infer_time_s", .number(2))])).id
            let stubborn = try first.submit(model: "MapTR", inputs: .object([]), options: .object([("infer_time_s", .number(120))])).id
            #expect(await eventually { first.job(resumable)?.state == .running && first.job(stubborn)?.state == .running })
            firstTask.cancel()  // the agent dies: nothing marks the jobs
            _ = try? await firstTask.value
            #expect(store.loadAll().filter { $0.state == .running }.count == 2, "both jobs are still 'running' on disk")

            // Second life: a new store instance on the same directory.
            let second = makeRunner()
            #expect(second.job(finished.id)?.state == .succeeded)
            #expect(second.job(finished.id)?.result?["meta"]?["sample_id"]?.stringValue == "done")
            #expect(second.job(resumable)?.state == .interrupted)
            #expect(second.job(resumable)?.interruptions == 1)
            let secondTask = Task { try await second.run() }
            #expect(await eventually(timeout: .seconds(60)) { second.job(resumable)?.state == .succeeded })
            #expect(second.job(resumable)?.runs == 2)
            #expect(await eventually { second.job(stubborn)?.state == .running })
            secondTask.cancel()  // interrupted again
            _ = try? await secondTask.value

            // Third life: the job interrupted twice is not run again; everything else is readable.
            let third = makeRunner()
            let thirdTask = Task { try await third.run() }
            try await Task.sleep(for: .milliseconds(500))
            #expect(third.job(stubborn)?.state == .interrupted)
            #expect(third.job(stubborn)?.interruptions == 2)
            #expect(third.job(stubborn)?.runs == 2)
            #expect(third.job(resumable)?.state == .succeeded)
            #expect(third.job(finished.id)?.state == .succeeded)
            thirdTask.cancel()
            _ = try? await thirdTask.value
            // And over HTTP, from a restarted agent's own runner on the same state directory.
            let restarted = TestAgent(
                config: harness.agent.config, stateDir: harness.stateDir, logger: harness.agent.logger, gpuProbe: FakeGPUProbe(),
                models: harness.agent.models, apiToken: harness.agent.apiToken)
            let app = Application(router: restarted.buildRouter())
            try await app.test(.router) { client in
                try await client.execute(uri: "/jobs/\(finished.id)", method: .get, headers: harness.auth) { response in
                    #expect(response.status == .ok)
                    #expect(response.body.object["state"] as? String == "succeeded")
                }
                try await client.execute(uri: "/jobs/\(stubborn)", method: .get, headers: harness.auth) { response in
                    #expect(response.body.object["state"] as? String == "interrupted")
                }
            }
        }
    }

    @Test("retention: jobs.max_kept and jobs.retention_hours bound the job directory")
    func retention() async throws {
        try await withHarness(configure: { $0.jobs.maxKept = 2 }) { harness in
            let service = try #require(harness.agent.inference)
            let directory = harness.stateDir + "/retention-jobs"
            var settings = harness.agent.config.jobs
            settings.maxKept = 2
            let runner = JobRunner(store: JobStore(directory: directory, logger: harness.agent.logger), inference: service, settings: settings, logger: harness.agent.logger)
            try await Self.withRunner(runner) {
                var ids: [String] = []
                for index in 0..<4 {
                    let id = try runner.submit(model: "PETR", inputs: .object([("sample_id", .string("r\(index)"))]), options: .object([])).id
                    ids.append(id)
                    #expect(await eventually { runner.job(id)?.state == .succeeded })
                }
                #expect(await eventually { runner.jobs().count == 2 })
                #expect(runner.jobs().map(\.id) == [ids[3], ids[2]])
                let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }
                #expect(files.count == 2)
                // 400 days on, every finished job is past jobs.retention_hours.
                runner.prune(now: Date().addingTimeInterval(86_400 * 400))
                #expect(runner.jobs().isEmpty)
                #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.isEmpty)
            }
        }
    }

    @Test("a multipart job keeps its upload in the stored request and the engine gets it as a file when the job runs")
    func multipartJob() async throws {
        try await withHarness { harness in
            let runner = try #require(harness.agent.jobs)
            let payload = "job upload \(UUID().uuidString)"
            try await Self.withRunner(runner) {
                try await harness.test(live: true) { client in
                    let boundary = "job-boundary"
                    let body = InferenceAPITests.multipart(boundary: boundary, parts: [
                        ("request", nil, #"{"model": "PETR", "inputs": {"img_path": "upload:cam"}}"#), ("cam", "cam.jpg", payload),
                    ])
                    var headers = harness.auth
                    headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
                    let id = try await client.execute(uri: "/jobs", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                        #expect(response.status == .accepted, "\(String(buffer: response.body))")
                        return try #require(response.body.object["id"] as? String)
                    }
                    _ = try await Self.waitFor("succeeded", client, harness, id)
                    let files = try harness.lastReceived().files
                    #expect(files.values.first == Data(payload.utf8), "the engine read the uploaded bytes")
                    #expect(harness.leftoverUploads.isEmpty)
                    let stored = try String(contentsOfFile: harness.stateDir + "/jobs/\(id).json", encoding: .utf8)
                    #expect(stored.contains(Data(payload.utf8).base64EncodedString()))
                }
            }
        }
    }

    @Test("jobs.max_queued: a full job queue is 429 with Retry-After")
    func jobQueueFull() async throws {
        try await withHarness(configure: { $0.jobs.maxQueued = 1 }) { harness in
            // The runner is not started: submitted jobs stay queued.
            try await harness.test(live: false) { client in
                let body = try jsonBody(["model": "PETR", "inputs": [:]])
                try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders, body: body) { #expect($0.status == .accepted) }
                try await client.execute(uri: "/jobs", method: .post, headers: harness.jsonHeaders, body: body) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(response.headers[.retryAfter] == "5")
                }
            }
        }
    }
}
