import Foundation
import Logging
import Plugins
import Synchronization
import Testing

@testable import Agent

/// Builds inference engines over real Demo worker processes (the synthetic model: no GPU or weights here).
enum InferenceTestSupport {
    static var pluginsDir: String { TestSupport.repoRoot.appendingPathComponent("Plugins").path }
    static var demoWorker: String { "\(pluginsDir)/Demo/worker.py" }

    /// An engine for `models` of `pluginsDir`, with test-sized timings; `tweak` changes the config.
    static func engine(
        models: [String] = ["Demo"], pluginsDir: String = pluginsDir, probe: FakeGPUProbe = FakeGPUProbe(),
        environment: [String: String] = [:], tweak: (inout AgentConfig) -> Void = { _ in }
    ) throws -> (InferenceEngine, ReadinessRegistry, KilledGroups) {
        var config = AgentConfig()
        config.pluginsDir = pluginsDir
        config.models = models
        config.inference.killGrace = 1
        config.inference.retryBackoff = 0.05
        config.inference.restartBackoffInitial = 0.05
        config.inference.loadTimeout = 60
        config.inference.python = TestSupport.workerPython
        tweak(&config)
        let catalog = try ModelCatalog.load(config: config)
        let readiness = ReadinessRegistry()
        let killed = KilledGroups()
        let engine = InferenceEngine(
            config: config, catalog: catalog, supervisor: TestSupport.supervisor, readiness: readiness,
            logger: Logger(label: "inference-test"), gpuProbe: probe, environment: TestSupport.environment(environment),
            onWorkerKilled: { model, group in killed.append(model, group) })
        return (engine, readiness, killed)
    }

    /// A plugins directory holding a Demo manifest with these worker options (and the runtime module).
    static func demoPlugins(options: String, retries: Int = 2, timeout: Int = 30) throws -> String {
        let dir = try TestSupport.temporaryDirectory("demo-plugins")
        try FileManager.default.createDirectory(atPath: "\(dir)/Demo", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/runtime", withDestinationPath: "\(pluginsDir)/runtime")
        let manifest = """
            name: Demo
            version: 1.0.0
            parser: demo
            synthetic: true
            tasks: [detection3d]
            class_names: [car, truck, construction_vehicle, bus, trailer, barrier, motorcycle, bicycle, pedestrian, traffic_cone]
            map_class_names: [divider, ped_crossing, boundary]
            default_score_threshold: 0.0
            point_cloud_range: [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
            worker:
              command: [python3, "\(demoWorker)"]
              mode: warm
              options: \(options)
            timeout_seconds: \(timeout)
            retries: \(retries)
            """
        try manifest.write(toFile: "\(dir)/Demo/plugin.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    static func request(_ id: String, options: [String: Any] = [:], inputs: [String: Any] = ["sample_id": "s1"], timeout: Duration? = nil) throws -> InferenceRequest {
        InferenceRequest(
            id: id, model: "Demo", inputs: try JSONSerialization.data(withJSONObject: inputs),
            workerOptions: try JSONSerialization.data(withJSONObject: options), timeout: timeout,
            parse: ParseOptions(scoreThreshold: 0, sampleID: "s1"))
    }

    /// The error `body` throws, or nil.
    static func failure(_ body: () async throws(AgentError) -> Void) async -> AgentError? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    /// Pids of live processes in process group `group`, read from /proc.
    static func processes(inGroup group: Int32) -> [Int32] { ProcFS().members(ofGroup: group) }

    /// A process's environment, from /proc.
    static func environment(ofProcess pid: Int32) -> [String: String] { ProcFS().environment(pid) ?? [:] }
}

/// The process groups the engine reported through its `onWorkerKilled` hook.
final class KilledGroups: Sendable {
    private let entries = Mutex<[(String, Int32)]>([])
    func append(_ model: String, _ group: Int32) { entries.withLock { $0.append((model, group)) } }
    var groups: [Int32] { entries.withLock { $0.map(\.1) } }
}
