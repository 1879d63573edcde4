import Foundation
import Plugins
import Synchronization
import Testing
import TestProcesses

@testable import AgentAPI
import Compare

/// The whole compare pipeline over real HTTP on loopback: results from the REAL Demo worker parsed by the REAL
/// plugins, served by a STAND-IN of the agent's HTTP API (the real API is another helper's branch), our HTTP
/// client, the runner, report.json checked against docs/compare.schema.json with python's jsonschema, and
/// report.html rendered by headless Chromium (screenshot kept under .build/test-artifacts/compare/).
@Suite("compare pipeline: real Demo results through a stand-in agent API", .serialized)
struct ReportPipelineTests {
    static let samples = ["s1", "s2", "s3", "s4"]
    static let token = "test-token-\(UUID().uuidString.prefix(8))"

    /// Results for every (format, sample), made once per test run.
    static let results: Result<[String: [String: String]], any Error> = {
        Result {
            let dir = try Shell.temporaryDirectory("demo-results")
            return try DemoResults.make(formats: ["petr", "vad", "maptr"], samples: samples, in: dir)
        }
    }()

    func inputs(_ dir: String) throws -> String {
        let folder = "\(dir)/inputs"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for sample in Self.samples {
            try #"{"sample_id": "\#(sample)", "images": {"CAM_FRONT": "/data/\#(sample)/front.jpg"}}"#
                .write(toFile: "\(folder)/\(sample).json", atomically: true, encoding: .utf8)
        }
        return folder
    }

    func standIn(_ dir: String, token: String? = ReportPipelineTests.token) throws -> StandInAgent {
        let made = try Self.results.get()
        return try StandInAgent(dir: dir, config: [
            "token": token as Any,
            "models": ["PETR": ["load_s": 1.5, "gpu_memory_mib": 2100], "VAD": ["load_s": 3.25, "gpu_memory_mib": 5300],
                       "MapTR": ["load_s": 2.0]],
            "results": ["PETR": made["petr"] ?? [:], "VAD": made["vad"] ?? [:], "MapTR": made["maptr"] ?? [:]],
            // VAD fails on two samples: not ready, then a model error (the Demo worker's own failure text).
            "fail": ["VAD": ["s2": [503, "model 'VAD' is not ready: loading"], "s4": [500, "injected model failure"]]],
        ])
    }

    /// A client of the stand-in agent through AgentAPI's plain-socket transport.
    static func client(_ base: String, token: String?, timeout: Int) throws -> AgentClient {
        AgentClient(transport: try SocketTransport(baseURL: base), token: try token.map { try AgentToken($0, source: "test") },
                    timeout: .seconds(timeout))
    }

    @Test func reportWithAFailingModelValidatesAndRenders() throws {
        let dir = try Shell.temporaryDirectory("pipeline")
        let agent = try standIn(dir)
        defer { agent.stop() }
        let client = try Self.client(agent.baseURL, token: Self.token, timeout: 30)
        let served = try client.servedModels()
        #expect(Set(served.map(\.name)) == ["PETR", "VAD", "MapTR"])
        let series = try CompareSeries.parse(models: "PETR,VAD,MapTR,again=PETR,Missing", options: ["score_threshold=0.2"])
        let samples = try SampleLoader.load(try inputs(dir))
        #expect(samples.map(\.id) == Self.samples)
        let progress = ProgressLog()
        let out = "\(dir)/report"
        let outcome = try CompareRunner.runAndWrite(
            samples: samples, series: series, targets: [CompareTarget(name: "standin", client: client, served: served)],
            outDirectory: out, tool: "podagent", progress: { done, total, failed in progress.add(done, total, failed) })
        let report = outcome.report

        // Every request was made and counted; the progress ended at the total.
        #expect(progress.last?.0 == 20 && progress.last?.1 == 20)
        let rows = Dictionary(uniqueKeysWithValues: report.perModel.map { ($0.model, $0) })
        #expect(rows["PETR"]?.succeeded == 4 && rows["PETR"]?.failed == 0)
        #expect(rows["VAD"]?.succeeded == 2 && rows["VAD"]?.failuresByKind == ["unavailable": 1, "server_error": 1])
        #expect(rows["Missing"]?.succeeded == 0 && rows["Missing"]?.failuresByKind == ["not_found": 4])
        #expect(rows["PETR"]?.gpuMemoryPeakMiB == 2100 && rows["VAD"]?.loadS == 3.25 && rows["MapTR"]?.gpuMemoryPeakMiB == nil)
        #expect(rows["PETR"]?.latencyS.map { $0.p50 > 0 && $0.p50 <= $0.p95 && $0.p95 <= $0.max } == true)
        #expect(rows["VAD"]?.outputsPerClass["map_elements"]?.isEmpty == false)
        #expect((rows["MapTR"]?.outputsPerSample["map_elements"] ?? 0) > 0)
        // The failures are named with model, sample and the agent's message.
        #expect(report.failures.contains { $0.model == "VAD" && $0.sample == "s2" && $0.kind == "unavailable" && $0.message.contains("loading") })
        #expect(report.failures.contains { $0.model == "VAD" && $0.sample == "s4" && $0.message.contains("injected model failure") })
        #expect(report.failures.filter { $0.model == "Missing" }.allSatisfy { $0.message.contains("serves model 'Missing'") })

        // The same results agree perfectly with themselves, at every threshold; PETR vs VAD is computed on the 2 shared samples.
        let same = report.agreement.first { $0.models == ["PETR", "again"] && $0.section == "detections" }
        #expect(same?.samples == 4)
        #expect(same?.levels.map(\.thresholdM) == [0.5, 1, 2, 4])
        #expect(same?.levels.allSatisfy { $0.agreement == 1 && $0.matchedFirst == $0.countFirst && $0.meanDistanceM == 0 } == true)
        let cross = report.agreement.first { $0.models == ["PETR", "VAD"] && $0.section == "detections" }
        #expect(cross?.samples == 2)
        #expect(cross?.levels.allSatisfy { level in
            level.countFirst == cross?.levels.first?.countFirst && (0...1).contains(level.agreement ?? -1)
                && level.matchedFirst <= level.countFirst && level.matchedSecond <= level.countSecond
        } == true)
        let maps = report.agreement.first { $0.models == ["VAD", "MapTR"] && $0.section == "map_elements" }
        #expect(maps?.metric == "chamfer" && maps?.levels.map(\.thresholdM) == [0.5, 1, 1.5])
        #expect(report.birdsEye?.sample == "s1" && report.birdsEye?.models.count == 4)
        #expect(report.birdsEye?.models.first { $0.model == "VAD" }?.trajectories.isEmpty == false)

        try validateAgainstSchema(outcome.json)
        try renderInChromium(outcome.html, artifact: "report-with-failures")
        // Written whole: no temp files left beside the report.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["report.html", "report.json"])
    }

    @Test func agentErrorsMapToClearKindsAndTheTokenIsRequired() throws {
        let dir = try Shell.temporaryDirectory("errors")
        let agent = try standIn(dir)
        defer { agent.stop() }
        let sample = try SampleLoader.build(file: nil, podPaths: ["sample_id=s2"], uploads: [])
        let wrongToken = "not-the-token-\(UUID().uuidString.prefix(6))"
        let wrong = try Self.client(agent.baseURL, token: wrongToken, timeout: 10)
        let unauthorized = #expect(throws: CompareError.self) { try wrong.inferResult(model: "PETR", inputs: sample.inputs) }
        #expect(unauthorized?.code == .unauthorized && unauthorized?.programExit.rawValue == 3)
        #expect(unauthorized?.message.contains(wrongToken) == false, "the token must never appear in messages")
        let client = try Self.client(agent.baseURL, token: Self.token, timeout: 10)
        let missing = #expect(throws: CompareError.self) { try client.inferResult(model: "Nope", inputs: sample.inputs) }
        #expect(missing?.code == .notFound && missing?.message.contains("'Nope'") == true)
        let notReady = #expect(throws: CompareError.self) { try client.inferResult(model: "VAD", inputs: sample.inputs) }
        #expect(notReady?.code == .unavailable && notReady?.programExit.rawValue == 5)
        let reply = try client.inferResult(model: "PETR", inputs: sample.inputs, options: ["score_threshold": .number(0.3)])
        #expect(reply.result.meta.sampleID == "s2" && reply.gpuMemoryMiB == 2100 && reply.requestID == "req-PETR-s2")
        let nothing = #expect(throws: CompareError.self) {
            try try Self.client("http://127.0.0.1:1", token: nil, timeout: 5).servedModels()
        }
        #expect(nothing?.code == .transport)
    }

    @Test func noReachableAgentStillWritesAReportNamingWhy() throws {
        let dir = try Shell.temporaryDirectory("no-agents")
        let samples = [Sample(id: "x", inputs: Data("{}".utf8), source: "test")]
        let series = try CompareSeries.parse(models: "PETR,pinned=VAD@pod9", options: [])
        let outcome = try CompareRunner.runAndWrite(samples: samples, series: series, targets: [], outDirectory: "\(dir)/r", tool: "podctl")
        #expect(outcome.report.failures.map(\.message) == ["no agent could be reached", "no agent could be reached"])
        #expect(outcome.report.birdsEye == nil && outcome.report.agreement.isEmpty)
        try validateAgainstSchema(outcome.json)
        let html = try String(contentsOfFile: outcome.html, encoding: .utf8)
        #expect(html.contains("No sample was answered by any model."))
    }

    @Test func badInputsAreNamed() throws {
        let dir = try Shell.temporaryDirectory("bad-inputs")
        try "{not json".write(toFile: "\(dir)/a.json", atomically: true, encoding: .utf8)
        let broken = #expect(throws: CompareError.self) { try SampleLoader.load(dir) }
        #expect(broken?.message.contains("a.json") == true && broken?.programExit.rawValue == 2)
        try "[1, 2]".write(toFile: "\(dir)/a.json", atomically: true, encoding: .utf8)
        let notObjects = #expect(throws: CompareError.self) { try SampleLoader.load("\(dir)/a.json") }
        #expect(notObjects?.message.contains("a.json[0]") == true)
        #expect(throws: CompareError.self) { try SampleLoader.load("\(dir)/missing") }
        let upload = "\(dir)/front.jpg"
        try Data([0xFF, 0xD8, 0xFF]).write(to: URL(fileURLWithPath: upload))
        let built = try SampleLoader.build(file: nil, podPaths: ["lidar_path=/data/x.bin"], uploads: ["image=\(upload)"])
        let object = try #require(try JSONSerialization.jsonObject(with: built.inputs) as? [String: Any])
        #expect(object["lidar_path"] as? String == "/data/x.bin")
        #expect((object["image"] as? [String: String]) == ["base64": "/9j/", "filename": "front.jpg"])
    }

    /// Checks report.json against docs/compare.schema.json with python3's jsonschema (draft 2020-12).
    func validateAgainstSchema(_ path: String) throws {
        let schema = Shell.repoRoot.appendingPathComponent("docs/compare.schema.json").path
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
            for e in errors[:5]: print(list(e.absolute_path), e.message)
            sys.exit(1 if errors else 0)
            """
        let result = try Shell.run(["python3", "-c", script, schema, path])
        #expect(result.status == 0, "report.json does not match its schema: \(result.stdout) \(result.stderr)")
    }

    /// Renders report.html in headless Chromium: a screenshot kept as a test artifact, and the DOM checked.
    func renderInChromium(_ html: String, artifact: String) throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(chromium, "Debian's chromium package is needed (bootstrap/install-deps installs it)")
        let artifacts = Shell.repoRoot.appendingPathComponent(".build/test-artifacts/compare").path
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let screenshot = "\(artifacts)/\(artifact).png"
        try? FileManager.default.removeItem(atPath: screenshot)
        let profile = try Shell.temporaryDirectory("chromium")
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                      "--user-data-dir=\(profile)"]
        let shot = try Shell.run(common + ["--screenshot=\(screenshot)", "--window-size=1400,3200", "file://\(html)"], timeout: 120)
        #expect(shot.status == 0, "chromium --screenshot: \(shot.stderr.suffix(600))")
        let png = try #require(FileManager.default.contents(atPath: screenshot), "no screenshot at \(screenshot)")
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "screenshot \(png.count) bytes")
        let dom = try Shell.run(common + ["--dump-dom", "file://\(html)"], timeout: 120)
        #expect(dom.status == 0)
        for marker in ["<table id=\"summary\"", "class=\"chart bar\"", "class=\"chart radar\"", "class=\"chart bev\"",
                       "<table id=\"agreement\"", "<table id=\"failures\"", "class=\"box\""] {
            #expect(dom.stdout.contains(marker), "rendered page lacks \(marker)")
        }
        #expect(!dom.stdout.contains("<script"), "the report must not need scripts")
        print("compare: report screenshot saved at \(screenshot)")
    }
}

/// Progress callbacks, in order.
final class ProgressLog: Sendable {
    private let entries = Mutex<[(Int, Int, Int)]>([])
    func add(_ done: Int, _ total: Int, _ failed: Int) { entries.withLock { $0.append((done, total, failed)) } }
    var last: (Int, Int, Int)? { entries.withLock { $0.max { $0.0 < $1.0 } } }
}
