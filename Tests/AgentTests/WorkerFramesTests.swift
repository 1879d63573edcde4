import Foundation
import Logging
import Plugins
import Testing

@testable import Agent

/// Tensor frames between the worker runtime and the agent (docs/worker-protocol.md, protocol 2):
/// the real Demo worker in both answer forms, and a hostile worker that writes frames by hand.
@Suite("Worker tensor frames (real Python workers)")
struct WorkerFramesTests {
    static func demo(protocolVersion: Int) -> WorkerProcess {
        let launch = WorkerProcess.Launch(
            name: "Demo", executable: TestSupport.workerPython,
            arguments: [TestSupport.repoRoot.appendingPathComponent("Plugins/Demo/worker.py").path],
            environment: TestSupport.environment(["PODAGENT_MODEL": "Demo", "PODAGENT_PROTOCOL": String(protocolVersion)]),
            readyTimeout: .seconds(60), killGrace: .seconds(2))
        return WorkerProcess(launch: launch, supervisor: TestSupport.supervisor, logger: Logger(label: "frames-test"))
    }

    /// Every tensor in a raw output (frames), as (place, dtype).
    static func tensors(_ value: JSONValue, at place: String = "raw") -> [(String, Tensor.DType)] {
        switch value {
        case .tensor(let tensor): return [(place, tensor.dtype)]
        case .object(let members): return members.flatMap { tensors($0.1, at: "\(place).\($0.0)") }
        case .array(let items): return items.enumerated().flatMap { tensors($0.element, at: "\(place)[\($0.offset)]") }
        default: return []
        }
    }

    static func standard(_ result: StandardResult) throws -> [UInt8] {
        var result = result
        result.meta.timingsSeconds = [:]
        return try result.jsonBytes()
    }

    @Test("protocol 1 (JSON) and protocol 2 (frames) carry the same raw output and give the same result, for all five formats")
    func bothFormsAgree() async throws {
        let plugin = try #require(try PluginRegistry.standard.loadPlugins(directory: TestSupport.repoRoot.appendingPathComponent("Plugins").path)
            .first { $0.manifest.name == "Demo" })
        let json = Self.demo(protocolVersion: 1), binary = Self.demo(protocolVersion: 2)
        #expect(try await json.start().protocolVersion == 1)
        #expect(try await binary.start().protocolVersion == 2)
        for format in ["maptr", "petr", "streampetr", "topomlp", "vad"] {
            let options = try WorkerProcessTests.options(["raw_format": format, "tensors": "numpy", "nan_scores": 3, "detections": 60])
            let inputs = Data(#"{"sample_id":"same-sample"}"#.utf8)
            let fromJSON = try await json.inferMessage(id: "j-\(format)", inputs: inputs, options: options, timeout: .seconds(30))
            let fromFrames = try await binary.inferMessage(id: "b-\(format)", inputs: inputs, options: options, timeout: .seconds(30))
            let rawJSON = try #require(fromJSON["raw"]), rawFrames = try #require(fromFrames["raw"])
            // The JSON answer has lists only; the binary one has the model's tensors as frames, float32 and int64 as made.
            #expect(Self.tensors(rawJSON).isEmpty)
            let framed = Self.tensors(rawFrames)
            #expect(framed.count == (format == "vad" ? 10 : format == "topomlp" ? 6 : format == "maptr" ? 4 : 3), "\(format): \(framed)")
            #expect(framed.allSatisfy { $0.1 == ($0.0.hasSuffix("labels_3d") ? .int64 : .float32) }, "\(format): \(framed)")
            #expect(fromFrames["frames"] == nil)  // the headers are consumed
            // Byte for byte the same raw output once written (NaN and infinities as null in both).
            #expect(try JSONWriter.write(rawFrames, nonFiniteAsNull: true) == JSONWriter.write(rawJSON, nonFiniteAsNull: true), "\(format)")
            for options in [ParseOptions(scoreThreshold: 0, sampleID: "s"), ParseOptions(sampleID: "s", includeRaw: true, denseTopology: true)] {
                let a = try plugin.parse(raw: rawJSON, options: options), b = try plugin.parse(raw: rawFrames, options: options)
                let same = try Self.standard(a) == Self.standard(b)  // a Bool: a failure names the case, not 200 KB twice
                #expect(same, "\(format), include_raw \(options.includeRaw): the standard results differ")
                // The spoiled scores were dropped with a warning in both forms.
                #expect(b.meta.warnings.count >= 2 && a.meta.warnings == b.meta.warnings, "\(format): \(b.meta.warnings)")
            }
        }
        // Lists from the model stay JSON even on protocol 2.
        let lists = try await binary.inferMessage(
            id: "l", inputs: Data("{}".utf8), options: try WorkerProcessTests.options(["raw_format": "vad", "tensors": "lists"]), timeout: .seconds(30))
        #expect(Self.tensors(try #require(lists["raw"])).isEmpty)
        _ = try plugin.parse(raw: try #require(lists["raw"]))
        await json.stop()
        await binary.stop()
    }

    // MARK: - A hostile worker

    /// Speaks the protocol far enough to say ready, then answers each request as `options.mode` says.
    static let hostileScript = #"""
        import json, os, struct, sys, time
        out = os.fdopen(os.dup(1), "wb")
        def line(message):
            out.write(json.dumps(message).encode() + b"\n")
        line({"type": "ready", "protocol": int(os.environ.get("HOSTILE_PROTOCOL", "2")), "pid": float(os.environ.get("HOSTILE_PID", os.getpid())),
              "uid": float(os.environ.get("HOSTILE_UID", os.getuid())), "load_s": 0})
        out.flush()
        def frame(path, dtype, shape, length):
            return {"path": path, "dtype": dtype, "shape": shape, "bytes": length}
        floats = struct.pack("<6f", 1.5, -2.0, float("nan"), float("inf"), 0.0, 7.0)
        for text in sys.stdin:
            request = json.loads(text)
            if request.get("type") == "shutdown":
                line({"type": "bye"}); out.flush(); break
            mode = (request.get("options") or {}).get("mode", "ok")
            def result(raw, frames, payload=b""):
                line({"type": "result", "id": request["id"], "raw": raw, "timings": {"inference_s": 0.0}, "frames": frames})
                out.write(payload)
                out.flush()
            if mode == "ok":
                result({"x": None, "k": [None, 1]}, [frame(["x"], "float32", [2, 3], 24), frame(["k", 0], "int64", [1], 8)], floats + struct.pack("<q", 42))
            elif mode == "bytes_mismatch":
                result({"x": None}, [frame(["x"], "float32", [2, 3], 20)], floats[:20])
            elif mode == "unknown_dtype":
                result({"x": None}, [frame(["x"], "complex64", [1], 8)], bytes(8))
            elif mode == "huge":
                result({"x": None}, [frame(["x"], "uint8", [1 << 40], 1 << 40)])
                time.sleep(3600)
            elif mode == "overflow":
                result({"x": None}, [frame(["x"], "float64", [1 << 31, 1 << 31, 1 << 31], 8)])
                time.sleep(3600)
            elif mode == "over_limit":
                result({"x": None}, [frame(["x"], "uint8", [2 << 20], 2 << 20)], bytes(2 << 20))
            elif mode == "negative":
                result({"x": None}, [frame(["x"], "float32", [-3], 12)], bytes(12))
            elif mode == "truncated":
                result({"x": None}, [frame(["x"], "float32", [1000], 4000)], bytes(100))
                os._exit(0)
            elif mode == "truncated_alive":
                result({"x": None}, [frame(["x"], "float32", [1000], 4000)], bytes(100))
                time.sleep(3600)
            elif mode == "long_line":
                out.write(b'{"type": "result", "raw": "' + b"x" * (2 << 20))
                out.flush()
                time.sleep(3600)
            elif mode == "not_null":
                result({"x": 5}, [frame(["x"], "uint8", [1], 1)], b"\x01")
            elif mode == "garbage":
                out.write(b"\x00\xff binary junk\n")
                out.flush()
            elif mode == "frames_not_list":
                result({"x": None}, {"path": ["x"]})
        """#

    static func hostile(protocolVersion: Int = 2, answerLimit: Int = 1 << 20, extra: [String: String] = [:]) throws -> WorkerProcess {
        let dir = try TestSupport.temporaryDirectory("hostile-worker")
        try TestSupport.writeScript("\(dir)/worker.py", hostileScript)
        let launch = WorkerProcess.Launch(
            name: "Hostile", executable: TestSupport.workerPython, arguments: ["\(dir)/worker.py"],
            environment: TestSupport.environment(["HOSTILE_PROTOCOL": String(protocolVersion)].merging(extra) { $1 }),
            readyTimeout: .seconds(30), killGrace: .seconds(1), answerLimit: answerLimit)
        return WorkerProcess(launch: launch, supervisor: TestSupport.supervisor, logger: Logger(label: "hostile-test"))
    }

    static func answer(_ worker: WorkerProcess, mode: String, timeout: Duration = .seconds(30)) async throws -> Result<JSONValue, WorkerProcess.Failure> {
        let options = try WorkerProcessTests.options(["mode": mode])
        do {
            return .success(try await worker.inferMessage(id: mode, inputs: Data("{}".utf8), options: options, timeout: timeout))
        } catch {
            return .failure(error)
        }
    }

    @Test("a well-formed hand-made frame reads into typed buffers, NaN and inf kept, written back as null")
    func wellFormed() async throws {
        let worker = try Self.hostile()
        _ = try await worker.start()
        let message = try await Self.answer(worker, mode: "ok").get()
        let raw = try #require(message["raw"])
        guard case .tensor(let x)? = raw["x"], case .array(let k)? = raw["k"], case .tensor(let label) = k[0] else {
            Issue.record("frames not placed: \(raw)")
            return
        }
        #expect(x.dtype == .float32 && x.shape == [2, 3] && label.dtype == .int64 && label[flat: 0] == 42)
        #expect(x[flat: 2].isNaN && x[flat: 3] == .infinity)
        let line = try await worker.infer(id: "ok", inputs: Data("{}".utf8), options: try WorkerProcessTests.options(["mode": "ok"]), timeout: .seconds(30))
        #expect(String(decoding: line, as: UTF8.self).contains(#""raw":{"x":[[1.5,-2,null],[null,0,7]],"k":[[42],1]}"#))
        await worker.stop()
    }

    @Test("hostile frames are protocol violations naming what is wrong, with nothing allocated for made-up lengths", arguments: [
        ("bytes_mismatch", "frame 0 (raw.x): 20 bytes do not hold a float32 tensor of shape (2,3) (24 bytes)"),
        ("unknown_dtype", "frame 0 (raw.x): unknown dtype 'complex64'"),
        ("huge", "frames 0...0 declare 1099511627776 bytes, more than the"),
        ("overflow", "frame 0 (raw.x): shape (2147483648,2147483648,2147483648) has more elements than this machine can count"),
        ("over_limit", "frames 0...0 declare 2097152 bytes, more than the"),
        ("negative", "frame 0 (raw.x): 'shape' sizes must be non-negative integers, got -3.0"),
        ("truncated", "frame 0 (raw.x, float32 [1000]): the output ended after 100 of its 4000 bytes"),
        ("long_line", "a line of more than 1048576 bytes (the limit of one answer) without a newline"),
        ("not_null", "frame 0: raw.x holds a number, not the null a frame replaces"),
        ("garbage", "not a protocol line"),
        ("frames_not_list", "'frames' must be a list of frame headers, got an object"),
    ])
    func hostileFrames(mode: String, message: String) async throws {
        let worker = try Self.hostile()
        _ = try await worker.start()
        let outcome = try await Self.answer(worker, mode: mode)
        guard case .failure(.protocolViolation(let problem)) = outcome else {
            Issue.record("\(mode): expected a protocol violation, got \(outcome)")
            await worker.stop()
            return
        }
        #expect(problem.contains(message), "\(mode): \(problem)")
        #expect(problem.hasPrefix("Hostile: "))
        if mode == "not_null" || mode == "garbage" {
            // The frames were read whole (or there were none): the stream is in step and the next answer reads.
            let next = try await Self.answer(worker, mode: "ok")
            #expect((try? next.get()) != nil, "\(mode): \(next)")
        }
        await worker.stop()
    }

    @Test("a frame cut short by a worker that stays alive ends at the request's deadline, not never")
    func truncatedButAlive() async throws {
        let worker = try Self.hostile()
        _ = try await worker.start()
        let outcome = try await Self.answer(worker, mode: "truncated_alive", timeout: .seconds(1))
        guard case .failure(.timedOut) = outcome else {
            Issue.record("expected the deadline, got \(outcome)")
            return
        }
    }

    @Test("frames from a worker that said protocol 1, and a protocol podagent does not speak, are refused")
    func versions() async throws {
        let old = try Self.hostile(protocolVersion: 1)
        #expect(try await old.start().protocolVersion == 1)
        let outcome = try await Self.answer(old, mode: "ok")
        guard case .failure(.protocolViolation(let problem)) = outcome else {
            Issue.record("expected a protocol violation, got \(outcome)")
            return
        }
        #expect(problem == "Hostile: tensor frames from a worker that said it speaks protocol 1")
        await old.stop()

        let future = try Self.hostile(protocolVersion: 9)
        let failure = await WorkerProcessTests.failure { () throws(WorkerProcess.Failure) in _ = try await future.start() }
        #expect(failure == .protocolViolation("Hostile: the worker speaks protocol 9; podagent offered 1 to 2"))

        // A made-up pid and uid in the ready line are ignored, not a trap.
        let liar = try Self.hostile(extra: ["HOSTILE_PID": "1e300", "HOSTILE_UID": "nan"])
        let ready = try await liar.start()
        #expect(ready.uid == nil && ready.pid > 0)
        await liar.stop()
    }

    @Test("the engine treats a broken frame as a failed worker: restarted, retried, then a clear error")
    func engineRestartsTheWorker() async throws {
        let plugins = try TestSupport.temporaryDirectory("hostile-plugins")
        try FileManager.default.createDirectory(atPath: "\(plugins)/Demo", withIntermediateDirectories: true)
        try TestSupport.writeScript("\(plugins)/Demo/worker.py", Self.hostileScript)
        try """
            name: Demo
            version: 1.0.0
            parser: demo
            synthetic: true
            tasks: [detection3d]
            class_names: [car]
            map_class_names: [divider]
            default_score_threshold: 0.0
            point_cloud_range: [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
            worker:
              command: [python3, "{plugin_dir}/worker.py"]
              mode: warm
            timeout_seconds: 30
            retries: 1
            """.write(toFile: "\(plugins)/Demo/plugin.yaml", atomically: true, encoding: .utf8)
        let (engine, _, killed) = try InferenceTestSupport.engine(pluginsDir: plugins)
        let first = try #require(await engine.load("Demo", overrides: ModelOverrides()).instances.first?.pid)
        let request = try InferenceTestSupport.request("broken", options: ["mode": "bytes_mismatch"])
        let failure = await InferenceTestSupport.failure { () throws(AgentError) in _ = try await engine.infer(request) }
        #expect(failure?.code == .unavailable)
        #expect(failure?.message.contains("the worker failed on each of 2 attempts") == true, "\(String(describing: failure))")
        #expect(failure?.message.contains("20 bytes do not hold a float32 tensor of shape (2,3)") == true, "\(String(describing: failure))")
        #expect(!killed.groups.isEmpty)
        // A fresh worker serves the next request.
        let deadline = ContinuousClock.now + .seconds(30)
        var pid: Int32? = first
        while pid == first || pid == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            pid = await engine.status(of: "Demo")?.instances.first?.pid
        }
        #expect(pid != first)
        await engine.shutdown()
    }
}
