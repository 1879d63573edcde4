import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Plugins
import Synchronization
import Testing

@testable import Agent

/// Every log line an agent writes, with its metadata, for tests that check what is (not) logged.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// A logger at `level` writing into this capture.
    func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "api-test") { label in CaptureHandler(label: label, capture: self) }
        logger.logLevel = level
        return logger
    }

    struct CaptureHandler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(all.map { "\($0)=\($1)" }.sorted().joined(separator: " "))")
        }
    }
}

/// One agent for API tests: its own state directory and data root, an optional token, and the REAL
/// engine serving the named models. Each model has its real manifest and plugin (parser, exports);
/// only its worker is a STAND-IN (`Support/model_stand_in_worker.py`: the synthetic Demo worker
/// answering in that model's raw format), since no weights or GPU exist here.
struct APIHarness: Sendable {
    let agent: TestAgent
    /// The models the engine serves (loaded before the test, unloaded after).
    let models: [String]
    let dataRoot: String
    let stateDir: String
    /// Where the stand-in worker writes what it received (`last.json`).
    let recordDir: String
    let logs: LogCapture
    let token: String?

    static func make(
        token: String? = "test-token-\(UUID().uuidString.prefix(8))", models: [String]? = ["PETR"], queueLimit: Int = 4,
        configure: (inout AgentConfig) -> Void = { _ in }
    ) async throws -> APIHarness {
        let stateDir = try TestSupport.temporaryDirectory("api-state")
        let dataRoot = try TestSupport.temporaryDirectory("api-data")
        let recordDir = try TestSupport.workerWritableDirectory("api-record")
        var config = AgentConfig()
        config.http.host = "127.0.0.1"
        config.http.port = 0
        // No models: no plugin at all, the one case where the agent serves no inference (its routes answer 503).
        config.pluginsDir = try standInPlugins(models ?? [], recordDir: recordDir)
        config.models = models ?? []
        config.api.dataRoots = [dataRoot]
        config.inference.queueLimit = queueLimit
        config.inference.python = TestSupport.workerPython
        config.inference.killGrace = 1
        config.inference.loadTimeout = 60
        config.inference.retryBackoff = 0.05
        config.inference.restartBackoffInitial = 0.05
        configure(&config)
        let logs = LogCapture()
        let agent = TestAgent(
            config: config, stateDir: stateDir, logger: logs.logger(), gpuProbe: FakeGPUProbe(),
            models: try ModelCatalog.load(config: config), apiToken: try token.map { try APIToken($0, source: "test") })
        let harness = APIHarness(
            agent: agent, models: models ?? [], dataRoot: dataRoot, stateDir: stateDir, recordDir: recordDir, logs: logs, token: token)
        do {
            for name in models ?? [] { _ = try await agent.engine.load(name, overrides: ModelOverrides()) }
        } catch {
            await harness.tearDown()
            throw error
        }
        return harness
    }

    /// A plugins directory with each model's real manifest whose worker is the stand-in, in the model's raw
    /// format, with a 60 s deadline (the real ones allow 600 s).
    static func standInPlugins(_ models: [String], recordDir: String) throws -> String {
        let directory = try TestSupport.temporaryDirectory("stand-in-plugins")
        let worker = TestSupport.repoRoot.appendingPathComponent("Tests/AgentTests/Support/model_stand_in_worker.py").path
        for name in models {
            let manifest = try String(
                contentsOf: TestSupport.repoRoot.appendingPathComponent("Plugins/\(name)/plugin.yaml"), encoding: .utf8)
            var lines: [String] = []
            var inWorker = false
            for line in manifest.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                if inWorker, line.hasPrefix(" ") { continue }
                inWorker = false
                if line == "worker:" {
                    inWorker = true
                    lines += [
                        "worker:", "  command: [python3, \"\(worker)\"]", "  mode: warm",
                        "  options: {raw_format: \(name.lowercased()), record_dir: \"\(recordDir)\"}",
                    ]
                } else if line.hasPrefix("timeout_seconds:") {
                    lines.append("timeout_seconds: 60")
                } else {
                    lines.append(line)
                }
            }
            try FileManager.default.createDirectory(atPath: "\(directory)/\(name)", withIntermediateDirectories: true)
            try lines.joined(separator: "\n").write(toFile: "\(directory)/\(name)/plugin.yaml", atomically: true, encoding: .utf8)
        }
        return directory
    }

    /// What the worker received last: its inputs, and the bytes of each file they named.
    func lastReceived() throws -> (inputs: JSONValue, files: [String: Data]) {
        let text = try Data(contentsOf: URL(fileURLWithPath: recordDir + "/last.json"))
        let record = try JSONReader.parse(Array(text), source: "last.json")
        var files: [String: Data] = [:]
        if case .object(let members)? = record["files"] {
            for (path, value) in members { files[path] = value.stringValue.flatMap { Data(base64Encoded: $0) } }
        }
        return (record["inputs"] ?? .null, files)
    }

    /// The pid of the model's (first) worker.
    func workerPID(_ model: String) async -> Int32? {
        await agent.engine.status(of: model)?.instances.first?.pid
    }

    /// The agent's app on 127.0.0.1, port 0 (for `.live`: real HTTP on loopback).
    func app() -> some ApplicationProtocol {
        Application(router: agent.buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: agent.logger)
    }

    /// Runs `body` against the app through real HTTP (`live`) or straight through the router.
    func test<T: Sendable>(live: Bool, _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await app().test(live ? .live : .router, body)
    }

    var auth: HTTPFields {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        return fields
    }

    /// Headers with the token and a JSON content type.
    var jsonHeaders: HTTPFields {
        var fields = auth
        fields[.contentType] = "application/json"
        return fields
    }

    /// Stops the workers and removes the directories.
    func tearDown() async {
        for name in models { _ = try? await agent.engine.unload(name) }
        try? FileManager.default.removeItem(atPath: stateDir)
        try? FileManager.default.removeItem(atPath: recordDir)
        try? FileManager.default.removeItem(atPath: dataRoot)
    }

    /// Writes a file in the data root and returns its path.
    func dataFile(_ name: String, _ contents: String = "image bytes") throws -> String {
        let path = dataRoot + "/" + name
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Where this agent writes uploads: `<state_dir>/uploads`, or, when the workers run as another
    /// user than podagent (root here), the folder that user can reach (``UploadArea``).
    var uploadsDir: String { agent.inference?.uploads.directory ?? stateDir + "/uploads" }

    /// What is left in the uploads folder.
    var leftoverUploads: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: uploadsDir)) ?? []
    }
}

/// Runs `body` with a harness, torn down afterwards whatever happened.
func withHarness<T>(
    token: String? = "test-token-\(UUID().uuidString.prefix(8))", models: [String]? = ["PETR"], queueLimit: Int = 4,
    configure: (inout AgentConfig) -> Void = { _ in }, _ body: (APIHarness) async throws -> T
) async throws -> T {
    let harness = try await APIHarness.make(token: token, models: models, queueLimit: queueLimit, configure: configure)
    do {
        let value = try await body(harness)
        await harness.tearDown()
        return value
    } catch {
        await harness.tearDown()
        throw error
    }
}

extension ByteBuffer {
    /// The body as a JSON object; records an issue and answers an empty object when it is not one.
    var object: [String: Any] {
        guard let value = (try? JSONSerialization.jsonObject(with: Data(readableBytesView))) as? [String: Any] else {
            Issue.record("not a JSON object: \(String(buffer: self))")
            return [:]
        }
        return value
    }

    /// The body as a JSON list of objects; records an issue and answers an empty list when it is not one.
    var list: [[String: Any]] {
        guard let value = (try? JSONSerialization.jsonObject(with: Data(readableBytesView))) as? [[String: Any]] else {
            Issue.record("not a JSON list: \(String(buffer: self))")
            return []
        }
        return value
    }

    var json: [String: Any] {
        get throws {
            try #require(try JSONSerialization.jsonObject(with: Data(readableBytesView)) as? [String: Any], "not a JSON object: \(String(buffer: self))")
        }
    }
    var jsonArray: [[String: Any]] {
        get throws {
            try #require(try JSONSerialization.jsonObject(with: Data(readableBytesView)) as? [[String: Any]], "not a JSON list: \(String(buffer: self))")
        }
    }
}

/// A JSON body from a dictionary.
func jsonBody(_ object: Any) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

extension HTTPFields.Element.Name {
    static let requestID = HTTPFields.Element.Name("X-Request-Id")!
    static let attempts = HTTPFields.Element.Name("X-PodAgent-Attempts")!
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; true when it held.
func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
