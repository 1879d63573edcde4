import Foundation
import Testing

@testable import Agent

/// The whole path with nothing standing in: a real `podagent run` serving the synthetic Demo model
/// through the real engine, asked over real HTTP by a separate client process (Python's urllib).
@Suite("Inference over HTTP: a real podagent, the real engine, Demo workers", .serialized)
struct InferenceOverHTTPTests {
    static let token = "tok-\(UUID().uuidString)"

    /// Sends `requests` (one JSON object each: method, path, body, token) and prints one answer per line.
    static let client = #"""
        import json, sys, urllib.request, urllib.error
        base, calls = sys.argv[1], json.load(open(sys.argv[2]))
        for call in calls:
            data = json.dumps(call["body"]).encode() if "body" in call else None
            request = urllib.request.Request(base + call["path"], data=data, method=call.get("method", "GET"))
            if call.get("token"):
                request.add_header("Authorization", "Bearer " + call["token"])
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    status, headers, body = response.status, response.headers, response.read()
            except urllib.error.HTTPError as error:
                status, headers, body = error.code, error.headers, error.read()
            print(json.dumps({"status": status, "attempts": headers.get("X-PodAgent-Attempts"), "body": json.loads(body)}), flush=True)
        """#

    func call(_ agent: AgentProcess, _ calls: [[String: Any]], in directory: String) async throws -> [[String: Any]] {
        let script = directory + "/client.py", input = directory + "/calls.json"
        try Self.client.write(toFile: script, atomically: true, encoding: .utf8)
        try JSONSerialization.data(withJSONObject: calls).write(to: URL(fileURLWithPath: input))
        let output = try await CommandRunner(supervisor: TestSupport.supervisor).run(
            ProcessSpec(executable: "/usr/bin/python3", arguments: [script, agent.baseURL, input], environment: TestSupport.environment()),
            timeout: .seconds(120))
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.count == calls.count, "client stderr: \(output.stderr)")
        return try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    static func demoPID(_ answer: [String: Any]) -> Int32? {
        let models = answer["body"] as? [[String: Any]] ?? []
        let demo = models.first { $0["name"] as? String == "Demo" }
        return ((demo?["instances"] as? [[String: Any]])?.first?["pid"] as? Int).map(Int32.init)
    }

    @Test("crash retried, hang → 504 with the old group gone, the next request served, 401 without the token, placement in /health")
    func reliabilityThroughTheWholeStack() async throws {
        let directory = try TestSupport.workerWritableDirectory("infer-http")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = try await AgentProcess.startDemo(token: Self.token, directory: directory, environment: ["PODAGENT_INFERENCE_KILL_GRACE": "1"])
        defer { Task { _ = await agent.stop() } }

        let infer = "/models/Demo/infer"
        let before = try await call(agent, [["path": "/v2/repository/index", "token": Self.token]], in: directory)
        let oldGroup = try #require(Self.demoPID(before[0]))
        let answers = try await call(agent, [
            ["method": "POST", "path": infer, "token": Self.token,
             "body": ["inputs": ["sample_id": "crash"], "options": ["fail": "crash", "fail_once_file": directory + "/crashed-once"]]],
            ["method": "POST", "path": infer, "token": Self.token, "body": ["inputs": [:], "options": ["fail": "hang", "timeout_s": 1]]],
            ["method": "POST", "path": infer, "token": Self.token, "body": ["inputs": ["sample_id": "after"], "options": ["raw_format": "maptr"]]],
            ["method": "POST", "path": infer, "body": ["inputs": [:]]],
            ["path": "/health", "token": Self.token],
        ], in: directory)

        #expect(answers[0]["status"] as? Int == 200, "\(answers[0])")
        #expect(answers[0]["attempts"] as? String == "2", "the crashed first attempt was retried once")
        #expect(answers[1]["status"] as? Int == 504)
        #expect(((answers[1]["body"] as? [String: Any])?["error"] as? String)?.contains("process group") == true, "\(answers[1])")
        #expect(kill(-oldGroup, 0) != 0, "a process of the hung worker's group \(oldGroup) is still alive")
        #expect(answers[2]["status"] as? Int == 200, "\(answers[2])")
        #expect(((answers[2]["body"] as? [String: Any])?["map_elements"] as? [Any])?.isEmpty == false)
        #expect(answers[3]["status"] as? Int == 401)
        let models = (answers[4]["body"] as? [String: Any])?["models"] as? [[String: Any]] ?? []
        let demo = try #require(models.first { $0["name"] as? String == "Demo" }, "/health lists the Demo model: \(answers[4])")
        #expect(demo["state"] as? String == "READY")
        let instance = try #require((demo["instances"] as? [[String: Any]])?.first)
        #expect((instance["restarts"] as? Int ?? 0) >= 2, "the crash and the hang each restarted the worker: \(instance)")
        #expect(instance["pid"] as? Int != Int(oldGroup))
        #expect(!agent.log.contains(Self.token), "the token reached the log")
    }

    /// Keep-alive clients, each sending answers of very different sizes back to back; every body must
    /// be exactly its own request's (the rendered bodies reuse pooled memory: ``ResultBufferPool``).
    static let mixedClient = #"""
        import http.client, json, sys, threading
        port, token = int(sys.argv[1]), sys.argv[2]
        # VAD 100 boxes (~225 KiB, frames), one PETR box (~1 KiB), MapTR as JSON lists, PETR 300 boxes.
        kinds = [("vad", 100, "numpy"), ("petr", 1, "numpy"), ("maptr", 50, "lists"), ("petr", 300, "numpy")]
        failures, counts = [], []
        def client(number):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for round in range(12):
                fmt, boxes, tensors = kinds[(number + round) % len(kinds)]
                sample = f"c{number}-r{round}-{fmt}"
                body = json.dumps({"inputs": {"sample_id": sample},
                                   "options": {"raw_format": fmt, "detections": boxes, "tensors": tensors, "score_threshold": 0}})
                conn.request("POST", "/models/Demo/infer", body=body, headers={"Authorization": "Bearer " + token})
                response = conn.getresponse()
                payload = response.read()
                try:
                    result = json.loads(payload)
                except ValueError as error:
                    failures.append(f"{sample}: not JSON ({error}) {payload[:120]!r}")
                    continue
                found = len(result.get("detections") or result.get("map_elements") or [])
                if response.status != 200 or result["meta"].get("sample_id") != sample or found != boxes:
                    failures.append(f"{sample}: status {response.status}, sample {result.get('meta', {}).get('sample_id')}, {found} items")
                counts.append(len(payload))
        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads: thread.start()
        for thread in threads: thread.join()
        print(json.dumps({"failures": failures, "answers": len(counts), "largest": max(counts, default=0), "smallest": min(counts, default=0)}))
        """#

    @Test("concurrent keep-alive clients, answers from 1 KiB to 225 KiB back to back: each body is exactly its own request's")
    func mixedSizesOnKeptConnections() async throws {
        let directory = try TestSupport.workerWritableDirectory("infer-mixed")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = try await AgentProcess.startDemo(token: Self.token, directory: directory, environment: ["PODAGENT_INFERENCE_INSTANCES": "2"])
        defer { Task { _ = await agent.stop() } }
        let script = directory + "/mixed.py"
        try Self.mixedClient.write(toFile: script, atomically: true, encoding: .utf8)
        let output = try await CommandRunner(supervisor: TestSupport.supervisor).run(
            ProcessSpec(executable: "/usr/bin/python3", arguments: [script, String(agent.port), Self.token], environment: TestSupport.environment()),
            timeout: .seconds(300))
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any], "client stderr: \(output.stderr)")
        #expect((report["failures"] as? [String]) == [], "\(report)")
        #expect(report["answers"] as? Int == 48, "\(report)")
        #expect((report["largest"] as? Int ?? 0) > 200_000, "a VAD-sized answer was among them: \(report)")
        #expect((report["smallest"] as? Int ?? .max) < 4_000, "a one-box answer was among them: \(report)")
    }
}
