import Foundation
import Logging
import NIOPosix
import Plugins
import Testing

@testable import Agent

/// Real worker processes running the synthetic Demo model (no GPU or weights here) over the worker protocol.
@Suite("Warm worker process (synthetic Demo model)")
struct WorkerProcessTests {
    static func demo(options: String = "{}", readyTimeout: Duration = .seconds(60)) -> WorkerProcess {
        let launch = WorkerProcess.Launch(
            name: "Demo", executable: "python3",
            arguments: [TestSupport.repoRoot.appendingPathComponent("Plugins/Demo/worker.py").path],
            environment: TestSupport.environment(["PODAGENT_MODEL": "Demo", "PODAGENT_WORKER_OPTIONS": options]),
            readyTimeout: readyTimeout, killGrace: .seconds(2))
        return WorkerProcess(launch: launch, supervisor: TestSupport.supervisor, logger: Logger(label: "worker-test"))
    }

    static func options(_ object: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: object)
    }

    static func failure(_ body: () async throws(WorkerProcess.Failure) -> Void) async -> WorkerProcess.Failure? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func staysWarmAcrossRequestsAndAnswersEachFormat() async throws {
        let worker = Self.demo()
        let ready = try await worker.start()
        #expect(ready.pid > 0)
        for format in ["maptr", "petr", "streampetr", "topomlp", "vad"] {
            let line = try await worker.infer(
                id: "r-\(format)", inputs: try Self.options(["sample_id": "s1"]), options: try Self.options(["raw_format": format]),
                timeout: .seconds(30))
            let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
            #expect(object["type"] as? String == "result")
            #expect(object["id"] as? String == "r-\(format)")
            #expect(object["raw"] != nil)
            #expect(await worker.pid == ready.pid)  // the same warm process answered
        }
        await worker.stop()
        #expect(await worker.pid == nil)
    }

    @Test func eachRawFormatParsesThroughItsPlugin() async throws {
        let plugins = try PluginRegistry.standard.loadPlugins(directory: TestSupport.repoRoot.appendingPathComponent("Plugins").path)
        let worker = Self.demo()
        _ = try await worker.start()
        for (format, model) in [("maptr", "MapTR"), ("petr", "PETR"), ("streampetr", "StreamPETR"), ("topomlp", "TopoMLP"), ("vad", "VAD")] {
            let plugin = try #require(plugins.first { $0.manifest.name == model })
            let line = try await worker.infer(
                id: format, inputs: Data(#"{"sample_id":"s7"}"#.utf8), options: try Self.options(["raw_format": format, "detections": 40]),
                timeout: .seconds(30))
            let answer = try JSONReader.parse(Array(line))
            // The Demo wraps the model's raw output and says it is synthetic.
            let wrapped = try #require(answer["raw"])
            #expect(wrapped["synthetic"] == .bool(true) && wrapped["format"]?.stringValue == format)
            let raw = try #require(wrapped["output"])
            let result = try plugin.parse(raw: raw, options: ParseOptions(scoreThreshold: 0, sampleID: "s7"))
            #expect(result.meta.model == model)
            switch format {
            case "maptr": #expect(result.mapElements?.count == 40)
            case "petr", "streampetr": #expect(result.detections?.count == 40)
            case "vad":
                #expect(result.detections?.count == 40)
                #expect(result.mapElements?.count == 50)
            default: #expect(result.laneCenterlines?.count == 300)
            }
        }
        await worker.stop()
    }

    @Test func badInputIsAnAnswerNotACrash() async throws {
        let worker = Self.demo()
        _ = try await worker.start()
        let failure = await Self.failure { () throws(WorkerProcess.Failure) in
            _ = try await worker.infer(id: "b", inputs: Data("{}".utf8), options: Data(#"{"raw_format":"yolo"}"#.utf8), timeout: .seconds(30))
        }
        guard case .answered(let kind, let message, _) = failure else {
            Issue.record("expected an answer, got \(String(describing: failure))")
            return
        }
        #expect(kind == "bad_input")
        #expect(message.contains("yolo"))
        // Still serving.
        _ = try await worker.infer(id: "ok", inputs: Data("{}".utf8), options: Data("{}".utf8), timeout: .seconds(30))
        await worker.stop()
    }

    @Test func crashMidRequestIsReportedWithItsExit() async throws {
        let worker = Self.demo()
        _ = try await worker.start()
        let failure = await Self.failure { () throws(WorkerProcess.Failure) in
            _ = try await worker.infer(id: "c", inputs: Data("{}".utf8), options: Data(#"{"fail":"crash"}"#.utf8), timeout: .seconds(30))
        }
        guard case .exited(let status, _) = failure else {
            Issue.record("expected an exit, got \(String(describing: failure))")
            return
        }
        #expect(status == .exited(17))
        #expect(await worker.pid == nil)
    }

    /// A request to a hung worker, from a task on `executor` (nil: the test's own): it must time out
    /// and end the worker's whole process group.
    static func expectHangEndsTheWholeGroup(on executor: (any TaskExecutor)?) async throws {
        let worker = Self.demo()
        let ready = try await worker.start()
        let failure = await withTaskExecutorPreference(executor) {
            await Self.failure { () throws(WorkerProcess.Failure) in
                _ = try await worker.infer(id: "h", inputs: Data("{}".utf8), options: Data(#"{"fail":"hang"}"#.utf8), timeout: .seconds(1))
            }
        }
        #expect(failure == .timedOut(.seconds(1)))
        #expect(kill(ready.pid, 0) != 0, "the hung worker \(ready.pid) is still alive")
        #expect(kill(-ready.pid, 0) != 0, "a process of the worker's group is still alive")
    }

    @Test func hangPastTheDeadlineEndsTheWholeGroup() async throws {
        try await Self.expectHangEndsTheWholeGroup(on: nil)
    }


    @Test func hangPastTheDeadlineOnAnEventLoopEndsTheWholeGroup() async throws {
        // The HTTP path: the request's task runs on its connection's loop, and its deadline is a timer there.
        try await Self.expectHangEndsTheWholeGroup(on: EventLoopTaskExecutor(group: MultiThreadedEventLoopGroup.singleton.next()))
    }

    @Test func finishedRequestsDeadlinesNeverEndALaterRequest() async throws {
        let worker = Self.demo()
        let ready = try await worker.start()
        for number in 0..<5 {
            _ = try await worker.infer(id: "quick-\(number)", inputs: Data("{}".utf8), options: Data("{}".utf8), timeout: .seconds(5))
        }
        try await Task.sleep(for: .milliseconds(5500))  // every earlier deadline has passed
        let line = try await worker.infer(
            id: "slow", inputs: Data("{}".utf8), options: try Self.options(["infer_time_s": 1.0]), timeout: .seconds(60))
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        #expect(object["id"] as? String == "slow")
        #expect(await worker.pid == ready.pid)
        await worker.stop()
    }

    @Test func anAnswerForAnotherRequestIsNeverTakenForThisOne() async throws {
        // A stand-in worker (a real process) that first answers an id that is not the request's, as a late
        // answer of an earlier request would arrive, then the request's own.
        let script = """
            import json, os, sys
            print(json.dumps({"type": "ready", "protocol": 1, "pid": os.getpid()}), flush=True)
            for line in sys.stdin:
                request = json.loads(line)
                if request.get("type") != "infer":
                    break
                print(json.dumps({"type": "result", "id": "earlier-" + request["id"], "raw": {"own": False}}), flush=True)
                print(json.dumps({"type": "result", "id": request["id"], "raw": {"own": True}}), flush=True)
            """
        let launch = WorkerProcess.Launch(
            name: "stand-in", executable: "python3", arguments: ["-c", script], environment: TestSupport.environment([:]),
            readyTimeout: .seconds(60), killGrace: .seconds(2))
        let worker = WorkerProcess(launch: launch, supervisor: TestSupport.supervisor, logger: Logger(label: "worker-test"))
        _ = try await worker.start()
        for id in ["a", "b", "c"] {
            let line = try await worker.infer(id: id, inputs: Data("{}".utf8), options: Data("{}".utf8), timeout: .seconds(30))
            let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
            #expect(object["id"] as? String == id)
            #expect((object["raw"] as? [String: Any])?["own"] as? Bool == true)
        }
        await worker.stop()
    }

    @Test func loadFailureIsReportedWithTheTraceback() async throws {
        let worker = Self.demo(options: "{not json")
        let failure = await Self.failure { () throws(WorkerProcess.Failure) in _ = try await worker.start() }
        guard case .loadFailed(let message, let traceback) = failure else {
            Issue.record("expected a load failure, got \(String(describing: failure))")
            return
        }
        #expect(message.contains("PODAGENT_WORKER_OPTIONS is not JSON"))
        #expect(traceback.contains("Traceback"))
    }
}
