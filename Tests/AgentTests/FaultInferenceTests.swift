import Foundation
import Testing

@testable import Agent

/// Issue #13, items 2, 3, 4 and 7: unloads and reloads under load, hostile repository paths, jobs
/// across a restart, clients that hang up. Real podagent processes serving real Demo workers.
@Suite("Faults: unload under load, load paths, jobs at start-up, disconnects (real podagent)", .serialized)
struct FaultInferenceTests {
    typealias Agent = FaultAgent

    static func slow(_ seconds: Double, id: String = "slow") -> [String: Any] {
        ["inputs": ["sample_id": id], "options": ["infer_time_s": seconds]]
    }

    @Test("unload with a request in flight: it finishes, queued ones get 503, unload answers, readiness stays 200, SIGTERM exits 0")
    func unloadWithRequestsInFlight() async throws {
        let agent = try await Agent.start(stateDir: try TestSupport.temporaryDirectory("unload"))
        try await Agent.waitFor(agent, "/v2/health/ready")
        let oldPID = try await Agent.readyWorker(agent)
        async let running = Agent.send(agent, "POST", "/models/Demo/infer", json: Self.slow(12, id: "running"))  // long enough for the next one to be seen queued on a loaded machine
        #expect(await eventually { (try? await Agent.demoStatus(agent))?["instances"].map { "\($0)".contains("busy") } == true })
        async let queued = Agent.send(agent, "POST", "/models/Demo/infer", json: Self.slow(0, id: "queued"))
        #expect(await eventually { (try? await Agent.demoStatus(agent))?["queued"] as? Int == 1 })

        // Readiness is watched all through the unload.
        let port = agent.port
        let watching = Task { () -> [Int] in
            var statuses: [Int] = []
            while !Task.isCancelled {
                statuses.append((try? await onThread { try RawConnection.exchange(port: port, "GET", "/v2/health/ready", timeout: 5).status }) ?? 0)
                try? await Task.sleep(for: .milliseconds(50))
            }
            return statuses
        }
        let unload = try await Agent.send(agent, "POST", "/v2/repository/models/Demo/unload", timeout: 30)
        #expect(unload.status == 200, "\(unload.status) \(unload.text)")
        #expect(unload.json?["state"] as? String == "UNAVAILABLE" && (unload.json?["instances"] as? [Any])?.isEmpty == true, "\(unload.text)")
        let finished = try await running
        #expect(finished.status == 200, "the request in flight finishes: \(finished.status) \(finished.text)")
        let refused = try await queued
        #expect(refused.status == 503 && refused.text.contains("unloaded"), "\(refused.status) \(refused.text)")
        watching.cancel()
        let readiness = await watching.value
        #expect(!readiness.isEmpty && readiness.allSatisfy { $0 == 200 }, "readiness during the unload: \(readiness)")
        #expect(await eventually { !isAlive(oldPID) })

        // Load again, then reload over a busy worker: the request finishes, the old worker goes.
        let load = try await Agent.send(agent, "POST", "/v2/repository/models/Demo/load", timeout: 60)
        #expect(load.status == 200 && load.json?["state"] as? String == "READY", "\(load.text)")
        let busyPID = try await Agent.readyWorker(agent)
        async let during = Agent.send(agent, "POST", "/models/Demo/infer", json: Self.slow(3, id: "during-reload"))
        #expect(await eventually { (try? await Agent.demoStatus(agent))?["instances"].map { "\($0)".contains("busy") } == true })
        let reload = try await Agent.send(agent, "POST", "/v2/repository/models/Demo/load", timeout: 60)
        #expect(reload.status == 200 && reload.json?["state"] as? String == "READY", "\(reload.text)")
        #expect(try await during.status == 200)
        #expect(await eventually { !isAlive(busyPID) }, "the replaced worker was never stopped")
        #expect(await eventually { ((try? await Agent.demoStatus(agent))?["instances"] as? [Any])?.count == 1 })

        // An unload that says so cancels the request in flight: a clear 503 at once.
        async let cancelled = Agent.send(agent, "POST", "/models/Demo/infer", json: Self.slow(60, id: "cancelled"))
        #expect(await eventually { (try? await Agent.demoStatus(agent))?["instances"].map { "\($0)".contains("busy") } == true })
        let abrupt = try await Agent.send(agent, "POST", "/v2/repository/models/Demo/unload", json: ["parameters": ["cancel_running": true]], timeout: 30)
        #expect(abrupt.status == 200, "\(abrupt.text)")
        let answer = try await cancelled
        #expect(answer.status == 503 && answer.text.contains("unloaded while the request ran"), "\(answer.status) \(answer.text)")

        // Loaded again with a request in flight, SIGTERM drains it and exits 0 (no cancellation crash).
        _ = try await Agent.send(agent, "POST", "/v2/repository/models/Demo/load", timeout: 60)
        async let last = Agent.send(agent, "POST", "/models/Demo/infer", json: Self.slow(2, id: "at-shutdown"))
        #expect(await eventually { (try? await Agent.demoStatus(agent))?["instances"].map { "\($0)".contains("busy") } == true })
        #expect(await agent.stop() == .exited(0), "podagent log:\n\(agent.log.suffix(2000))")
        _ = try? await last
    }

    @Test("repository load confines config and checkpoint to the plugin dir, checkpoints dir and data roots, and never says whether a file exists")
    func loadPathsAreConfined() async throws {
        let root = try TestSupport.temporaryDirectory("load-root")
        let outside = try TestSupport.temporaryDirectory("load-outside")
        try "# a config outside every allowed place\n".write(toFile: outside + "/evil.py", atomically: true, encoding: .utf8)
        try "# a config for the synthetic Demo\n".write(toFile: root + "/demo_config.py", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/link.py", withDestinationPath: outside + "/evil.py")
        let agent = try await Agent.start(stateDir: try TestSupport.temporaryDirectory("load-state"), yaml: "api:\n  data_roots: [\(root)]\n")
        try await Agent.waitFor(agent, "/v2/health/ready")
        func load(_ parameters: [String: String]) async throws -> RawConnection.Response {
            try await Agent.send(agent, "POST", "/v2/repository/models/Demo/load", json: ["parameters": parameters], timeout: 60)
        }
        var refusals: [String: String] = [:]
        for (key, path) in [
            ("config", "/etc/shadow"), ("config", "/etc/no-such-file-\(UUID().uuidString)"), ("config", outside + "/evil.py"),
            ("config", root + "/../" + (outside as NSString).lastPathComponent + "/evil.py"), ("config", root + "/link.py"),
            ("config", root + "/demo_config.py\u{0}/../../etc/shadow"), ("config", "demo_config.py"), ("config", root),
            ("checkpoint", "/etc/passwd"),
        ] {
            let answer = try await load([key: path])
            #expect(answer.status == 400, "\(key) \(path): \(answer.status) \(answer.text)")
            let message = answer.json?["error"] as? String ?? ""
            #expect(message.hasPrefix("parameters.\(key): "), "\(message)")
            // The same words whatever the path: nothing tells an existing file from a missing one.
            refusals[path] = message.replacingOccurrences(of: "'\(LoadPaths.shown(path))'", with: "'PATH'")
        }
        #expect(Set(refusals.values).count == 2, "one wording per key: \(refusals)")
        let unchanged = try await Agent.demoStatus(agent)
        #expect(unchanged["state"] as? String == "READY", "a refused load leaves the model as it was")
        let good = try await load(["config": root + "/demo_config.py"])
        #expect(good.status == 200 && good.json?["config"] as? String == root + "/demo_config.py", "\(good.text)")
        let pid = try await Agent.readyWorker(agent)
        #expect(ProcFS().environment(pid)?["PODAGENT_MODEL_CONFIG"] == root + "/demo_config.py")
        #expect(await agent.stop() == .exited(0))
    }

    @Test("queued jobs wait for their model across a restart instead of failing not_ready")
    func jobsWaitForTheirModelAtStart() async throws {
        // A Demo that takes 3 s to load, so jobs queued across the restart find it loading.
        let plugins = try InferenceTestSupport.demoPlugins(options: "{load_time_s: 3}")
        let state = try TestSupport.temporaryDirectory("jobs-wait")
        let yaml = "jobs:\n  concurrency: 2\nshutdown_timeout: 2\n"
        let first = try await Agent.start(stateDir: state, yaml: yaml, pluginsDir: plugins)
        try await Agent.waitFor(first, "/v2/health/ready")
        var ids: [String] = []
        for index in 0..<4 {
            let submitted = try await Agent.send(first, "POST", "/jobs", json: ["model": "Demo", "inputs": ["sample_id": "j\(index)"], "options": ["infer_time_s": 20]])
            ids.append(try #require(submitted.json?["id"] as? String))
        }
        #expect(await eventually { (try? await Agent.send(first, "GET", "/jobs/\(ids[0])").json?["state"] as? String) == "running" })
        #expect(await first.stop() == .exited(0))

        let again = try await Agent.start(stateDir: state, yaml: yaml, pluginsDir: plugins)
        // While the model loads, the jobs stay queued (none fails for want of a ready model).
        let early = try #require(try await Agent.send(again, "GET", "/jobs").json?["jobs"] as? [[String: Any]])
        #expect(early.allSatisfy { ["queued", "interrupted"].contains($0["state"] as? String ?? "") }, "\(early)")
        try await Agent.waitFor(again, "/v2/health/ready")
        for id in ids {
            _ = try await Agent.send(again, "DELETE", "/jobs/\(id)")  // no need to wait 20 s for each
        }
        let jobs = try #require(try await Agent.send(again, "GET", "/jobs").json?["jobs"] as? [[String: Any]])
        let failedNotReady = jobs.filter { ($0["error"] as? [String: Any])?["code"] as? String == "not_ready" }
        #expect(failedNotReady.isEmpty, "jobs failed for want of a ready model: \(failedNotReady)")
        #expect(await again.stop() == .exited(0))
    }

    @Test("a job whose model stays not ready fails after the model's load timeout, with the model's reason")
    func jobForAModelThatNeverLoads() async throws {
        let agent = try await Agent.start(stateDir: try TestSupport.temporaryDirectory("jobs-expire"), environment: ["PODAGENT_INFERENCE_LOAD_TIMEOUT": "2"])
        try await Agent.waitFor(agent, "/v2/health/ready")
        _ = try await Agent.send(agent, "POST", "/v2/repository/models/Demo/unload", timeout: 30)
        let submitted = try await Agent.send(agent, "POST", "/jobs", json: ["model": "Demo", "inputs": ["sample_id": "never"]])
        let id = try #require(submitted.json?["id"] as? String)
        #expect(try await Agent.send(agent, "GET", "/jobs/\(id)").json?["state"] as? String == "queued")
        var record: [String: Any] = [:]
        #expect(await eventually {
            record = (try? await Agent.send(agent, "GET", "/jobs/\(id)").json) ?? [:]
            return record["state"] as? String == "failed"
        })
        let error = record["error"] as? [String: Any] ?? [:]
        #expect(error["code"] as? String == "not_ready" && (error["message"] as? String)?.contains("unloaded through the repository") == true, "\(record)")
        #expect(record["runs"] as? Int == 0, "it never ran: \(record); podagent log:\n\(agent.log.suffix(3000))")
        #expect(await agent.stop() == .exited(0))
    }

    @Test("a client that hangs up cancels its request: a queued one leaves the queue, a running one ends the worker's attempt")
    func disconnectCancelsTheRequest() async throws {
        let agent = try await Agent.start(stateDir: try TestSupport.temporaryDirectory("disconnect"))
        try await Agent.waitFor(agent, "/v2/health/ready")
        let port = agent.port
        let workerBefore = try await Agent.readyWorker(agent)
        let body = try jsonData(Self.slow(60, id: "abandoned"))
        let running = try await onThread { () -> RawConnection in
            let connection = try RawConnection(port: port)
            try connection.request("POST", "/models/Demo/infer", body: body, headers: ["Content-Type": "application/json"])
            return connection
        }
        #expect(await eventually { (try? await Agent.demoStatus(agent))?["instances"].map { "\($0)".contains("busy") } == true })
        let queued = try await onThread { () -> RawConnection in
            let connection = try RawConnection(port: port)
            try connection.request("POST", "/models/Demo/infer", body: try jsonData(Self.slow(60, id: "queued")), headers: ["Content-Type": "application/json"])
            return connection
        }
        #expect(await eventually { (try? await Agent.demoStatus(agent))?["queued"] as? Int == 1 })
        // The queued client goes: the queue empties while the first request still runs.
        shutdown(queued.fd, Int32(SHUT_RDWR))
        #expect(await eventually(timeout: .seconds(10)) { (try? await Agent.demoStatus(agent))?["queued"] as? Int == 0 }, "the abandoned request stayed queued")
        #expect(isAlive(workerBefore))
        // The running client goes: its worker's attempt is ended (as a deadline does) and the worker restarts.
        shutdown(running.fd, Int32(SHUT_RDWR))
        #expect(await eventually(timeout: .seconds(15)) { !isAlive(workerBefore) }, "the worker kept computing the abandoned request")
        let restarted = await eventually(timeout: .seconds(30)) {
            let pid = try? await Agent.workerPID(agent)
            let state = (try? await Agent.demoStatus(agent))?["state"] as? String
            return pid != nil && pid != workerBefore && state == "READY"
        }
        #expect(restarted)
        // The next caller is served by the restarted worker, not behind the abandoned requests.
        let next = try await Agent.send(agent, "POST", "/models/Demo/infer", json: Self.slow(0, id: "next"), timeout: 30)
        #expect(next.status == 200, "\(next.text)")
        #expect(agent.log.contains("cancelled"), "the cancelled attempt is logged")
        #expect(await agent.stop() == .exited(0))
    }
}
