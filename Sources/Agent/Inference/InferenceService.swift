#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore
import Plugins
import PodAgentExtras
import Synchronization

/// Inference's one handle: what the inference, repository and job routes, the job runner and
/// `/health` all use. It checks a request's inputs and options, writes its uploads, runs it on the
/// backend (the engine), renders the result, and answers the repository's index, status, load and unload.
public final class InferenceService: Sendable {
    private let backend: any InferenceBackend
    let resolver: InputResolver
    let uploads: UploadArea
    let models: ModelCatalog
    private let metrics: AgentMetrics?
    /// Where inputs with uploads are resolved, off the cooperative pool.
    let pool: BlockingPool
    /// Counts and durations per model, for Triton's statistics extension (`/v2/models/{name}/stats`).
    public let statistics = InferenceStatistics()
    /// Where bodies are rendered: memory reused from one request to the next.
    let buffers = ResultBufferPool()
    /// Requests in ``run(_:)`` now. A large result's render takes a second core only while there are
    /// cores to spare (two a request); under load the requests themselves keep the cores busy.
    private let running = Atomic<Int>(0)
    private let cores = System.coreCount

    /// - Parameters:
    ///   - backend: the engine (``InferenceEngine``).
    ///   - stateDir: uploads go to `<stateDir>/uploads/<request id>/` (leftovers from a crash are removed now).
    ///   - workerUser: who the workers run as; when another user, uploads go where it can read them (``UploadArea``).
    ///   - pool: the threads that decode and write uploads.
    public init(
        backend: any InferenceBackend, dataRoots: [String], stateDir: String, models: ModelCatalog, metrics: AgentMetrics? = nil,
        workerUser: WorkerUser? = nil, pool: BlockingPool = BlockingPool(threads: 2, name: "podagent-inputs")
    ) {
        self.backend = backend
        self.pool = pool
        self.resolver = InputResolver(dataRoots: dataRoots)
        self.uploads = UploadArea(stateDir: stateDir, workerUser: workerUser)
        self.models = models
        self.metrics = metrics
    }

    /// One request, before its inputs are checked.
    struct Call: Sendable {
        var id: String
        var model: String
        var inputs: JSONValue
        var options: InferenceOptions
        var parts: [String: MultipartForm.Part] = [:]
        /// Resolve the inputs (decode and write uploads) on the blocking pool: a large body, or a job
        /// (its stored inputs may hold uploads as base64).
        var offload = true
    }

    /// A finished call: how the backend got there and the rendered body. The parsed result itself is not
    /// kept: once rendered into `body` it is freed off the request's path.
    struct Answer: Sendable {
        var timings: InferenceTimings
        /// 1 when the first attempt succeeded.
        var attempts: Int
        /// GPU memory the worker still held after the request, when it reported it.
        var gpuMemoryMiB: Double?
        /// The standard result (or the export format's document), as JSON bytes.
        var body: ByteBuffer
    }

    /// The catalog's spelling of `name` (model names are case-insensitive).
    func canonical(_ name: String) -> String {
        models.canonicalName(name) ?? name
    }

    /// Every model of the catalog (enabled or not) with its state.
    public func index() async -> [ModelStatus] { await backend.index() }

    /// One model's state; nil when no such model exists.
    public func status(of model: String) async -> ModelStatus? { await backend.status(of: model) }

    /// One model's state, or `.notFound` naming the models that exist.
    func knownStatus(of model: String) async throws(AgentError) -> ModelStatus {
        guard let status = await backend.status(of: model) else {
            throw AgentError(.notFound, ModelCatalog.unknownModelMessage(model, known: models.plugins))
        }
        return status
    }

    /// Starts (or restarts with `overrides`) the model's workers; see ``InferenceBackend/load(_:overrides:)``.
    public func load(_ model: String, overrides: ModelOverrides = ModelOverrides()) async throws(AgentError) -> ModelStatus {
        try await backend.load(model, overrides: overrides)
    }

    /// Stops the model's workers; see ``InferenceBackend/unload(_:cancelRunning:)``.
    public func unload(_ model: String, cancelRunning: Bool = false) async throws(AgentError) -> ModelStatus {
        try await backend.unload(model, cancelRunning: cancelRunning)
    }

    // MARK: Jobs' metrics: the job runner counts through the service, which holds the agent's metrics.

    /// Counts a job accepted for `model`.
    func countJobSubmitted(model: String) {
        metrics?.count("jobs_submitted", help: "Jobs accepted, by model", labels: [("model", model)])
    }

    /// Counts a job that ended, by model and final state.
    func countJobFinished(model: String, state: JobState) {
        metrics?.count("jobs_finished", help: "Jobs that ended, by model and final state", labels: [("model", model), ("state", state.rawValue)])
    }

    /// The jobs waiting and running now, as gauges.
    func setJobGauges(queued: Int, running: Int) {
        metrics?.gauge("jobs", unit: "count", help: "Jobs waiting or running now", labels: [("state", "queued")], value: Double(queued))
        metrics?.gauge("jobs", unit: "count", help: "Jobs waiting or running now", labels: [("state", "running")], value: Double(running))
    }

    /// The service, or 503 when there is none (no model plugin at all).
    static func require(_ service: InferenceService?) throws(AgentError) -> InferenceService {
        guard let service else { throw AgentError(.notReady, "inference is not enabled") }
        return service
    }

    /// Checks the inputs without writing uploads (for jobs, checked when they are submitted).
    func check(_ inputs: JSONValue, parts: [String: MultipartForm.Part] = [:]) throws(AgentError) {
        var uploads = InputResolver.Uploads(directory: nil, parts: parts, dryRun: true)
        _ = try resolver.resolve(inputs, uploads: &uploads)
    }

    /// Runs `call`; its uploads are removed afterwards whatever happened.
    func run(_ call: Call) async throws(AgentError) -> Answer {
        running.wrappingAdd(1, ordering: .relaxed)
        defer { running.wrappingSubtract(1, ordering: .relaxed) }
        // Named afresh, never after the request id: a client chooses that id (OIP `id`, X-Request-Id).
        let directory = uploads.request()
        defer { directory.remove() }
        let started = ContinuousClock.now
        // Only models of the catalog are counted by name: a name a client made up must not grow the
        // statistics table or add a metric series of its own (all such requests share one label).
        let known = models.canonicalName(call.model) != nil
        let label = known ? call.model : Self.unknownModelLabel
        do {
            let resolver = self.resolver
            let resolve = { @Sendable () throws(AgentError) -> JSONValue in
                var uploads = InputResolver.Uploads(directory: directory, parts: call.parts)
                return try resolver.resolve(call.inputs, uploads: &uploads)
            }
            let inputs = call.offload ? try await pool.run(resolve) : try resolve()
            let sampleID = (inputs["sample_id"] ?? inputs["sample_token"])?.stringValue
            let request = InferenceRequest(
                id: call.id, model: call.model, inputs: Data(try Self.write(inputs)), workerOptions: Data(try Self.write(call.options.worker)),
                timeout: call.options.timeout,
                parse: ParseOptions(
                    scoreThreshold: call.options.scoreThreshold, sampleID: sampleID, includeRaw: call.options.includeRaw,
                    denseTopology: call.options.format == .openlane))
            let submitted = ContinuousClock.now
            let outcome = try await backend.infer(request)
            let answered = ContinuousClock.now
            // Only the export formats use them (reading them copies the plugin's manifest).
            let conventions =
                call.options.format == .standard ? ExportConventions() : models.plugin(named: call.model)?.exportConventions ?? ExportConventions()
            let helper: BlockingPool? = running.load(ordering: .relaxed) * 2 <= cores ? pool : nil
            let body = try buffers.render { (out) throws(AgentError) in
                try Self.render(outcome, options: call.options, conventions: conventions, inputs: inputs, helper: helper, into: &out)
            }
            metrics?.count("inference_requests", help: "Inference requests by model and outcome", labels: [("model", label), ("outcome", "ok")])
            if known {
                statistics.recordSuccess(model: call.model, Self.phases(
                    outcome.timings, started: started, submitted: submitted, answered: answered, finished: ContinuousClock.now))
            }
            let answer = Answer(timings: outcome.timings, attempts: outcome.attempts, gpuMemoryMiB: outcome.gpuMemoryMiB, body: body)
            // The body is all that is left to send of the parsed result. A large one (thousands of
            // small arrays) is freed off the request's path (consumed here, so the pool's thread holds
            // the last reference); a small one here, where that costs less than waking a thread.
            if body.readableBytes > Self.freeOffPathBytes { pool.release(consume outcome) }
            return answer
        } catch {
            if known { statistics.recordFailure(model: call.model, seconds: (ContinuousClock.now - started).inSeconds) }
            metrics?.count("inference_requests", help: "Inference requests by model and outcome", labels: [("model", label), ("outcome", error.code.rawValue)])
            throw error
        }
    }

    /// The `model` label of `podagent_inference_requests_total` for a name that is not in the catalog.
    static let unknownModelLabel = "(unknown)"

    /// Results whose rendered body is larger than this are freed on the pool's thread.
    static let freeOffPathBytes = 32 * 1024

    /// A request's phases as Triton's statistics name them: the engine's own queue, worker and parse
    /// times, and what the agent spent around it.
    static func phases(
        _ timings: InferenceTimings, started: ContinuousClock.Instant, submitted: ContinuousClock.Instant,
        answered: ContinuousClock.Instant, finished: ContinuousClock.Instant
    ) -> InferenceStatistics.Phases {
        let engine = (answered - submitted).inSeconds
        return InferenceStatistics.Phases(
            total: (finished - started).inSeconds, queue: timings.queue_s, input: (submitted - started).inSeconds,
            infer: max(0, engine - timings.queue_s - timings.parse_s), output: timings.parse_s + (finished - answered).inSeconds)
    }

    static func write(_ value: JSONValue) throws(AgentError) -> [UInt8] {
        do { return try JSONWriter.write(value) } catch { throw AgentError(.invalidArgument, error.message) }
    }

    /// The standard result with the timings in `meta.timings_seconds`, or the asked-for export format
    /// as the model's own code writes it (`conventions`), appended to `out`. A large standard result is
    /// written partly on one of `helper`'s threads when one is free (``SharedRender``).
    static func render(
        _ outcome: InferenceOutcome, options: InferenceOptions, conventions: ExportConventions, inputs: JSONValue,
        helper: (any RenderHelper)? = nil, into out: inout [UInt8]
    ) throws(AgentError) {
        let format = options.format
        var result = outcome.result
        let timings = outcome.timings
        // Written once, here: the outcome's timings (the parser's own "parse" reading is the same as parse_s).
        result.meta.timingsSeconds = [
            "queue_s": timings.queue_s, "inference_s": timings.inference_s, "parse_s": timings.parse_s, "total_s": timings.total_s,
        ]
        try AgentError.mapping {
            switch format {
            case .standard:
                try result.writeJSON(into: &out, helper: helper)
            case .nuscenes:
                guard let calibration = inputs["calibration"] else {
                    throw AgentError(.invalidArgument, "options.format nuscenes needs inputs.calibration (lidar2ego_rotation, lidar2ego_translation, ego2global_rotation, ego2global_translation)")
                }
                guard let token = result.meta.sampleID else {
                    throw AgentError(.invalidArgument, "options.format nuscenes needs inputs.sample_id (the nuScenes sample token)")
                }
                let set = try SampleCalibration.readSet(.object([(token, calibration)]), source: "inputs.calibration")
                out += try format.render([result], conventions: conventions, calibration: set)
            case .nuscmap:
                out += try format.render([result], conventions: conventions)
            case .openlane:
                out += try format.render([result], submissionInfo: options.submissionInfo)
            }
        }
    }
}
