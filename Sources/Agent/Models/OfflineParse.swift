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
import Plugins
import PodAgentExtras

/// What `podagent parse` does: a raw dump in, the standard result or an evaluation format out,
/// with no GPU and no model.
public struct OfflineParse: Sendable {
    public var model: String
    public var input: String
    public var format: ExportFormat
    public var scoreThreshold: Double?
    public var topologyThreshold: Double
    public var calibration: String?
    /// A JSON file with the OpenLane-V2 submission's header (method, authors, e-mail, institution, country).
    public var submissionInfo: String?
    public var sampleID: String?
    public var includeRaw: Bool
    /// Dense topology matrices in the standard result (the openlane format always has them).
    public var denseTopology: Bool
    public var pretty: Bool

    public init(
        model: String, input: String, format: ExportFormat = .standard, scoreThreshold: Double? = nil,
        topologyThreshold: Double = 0.5, calibration: String? = nil, sampleID: String? = nil, includeRaw: Bool = false,
        denseTopology: Bool = false, pretty: Bool = true, submissionInfo: String? = nil
    ) {
        self.model = model
        self.input = input
        self.format = format
        self.scoreThreshold = scoreThreshold
        self.topologyThreshold = topologyThreshold
        self.calibration = calibration
        self.sampleID = sampleID
        self.includeRaw = includeRaw
        self.denseTopology = denseTopology
        self.pretty = pretty
        self.submissionInfo = submissionInfo
    }

    /// Parses and renders.
    /// - Throws: ``AgentError`` `.invalidArgument` for bad input (exit code 2), naming the key or file.
    public func render(plugins: [any ModelPlugin]) throws(AgentError) -> [UInt8] {
        guard let plugin = plugins.first(where: { $0.manifest.name.lowercased() == model.lowercased() }) else {
            throw AgentError(.invalidArgument, ModelCatalog.unknownModelMessage(model, known: plugins))
        }
        if submissionInfo != nil, format != .openlane {
            throw AgentError(.invalidArgument, "--submission-info needs --format openlane")
        }
        guard let bytes = FileManager.default.contents(atPath: input) else {
            throw AgentError(.invalidArgument, "\(input): cannot read the raw output")
        }
        return try AgentError.mapping {
            var info: OpenLaneSubmissionInfo?
            if let submissionInfo {
                guard let data = FileManager.default.contents(atPath: submissionInfo) else {
                    throw AgentError(.invalidArgument, "\(submissionInfo): cannot read the submission info file")
                }
                info = try OpenLaneSubmissionInfo.read(JSONReader.parse(Array(data), source: submissionInfo), source: submissionInfo)
            }
            let raw = try JSONReader.parse(Array(bytes), source: input)
            let options = ParseOptions(
                scoreThreshold: scoreThreshold, sampleID: sampleID, includeRaw: includeRaw,
                topologyThreshold: topologyThreshold, denseTopology: denseTopology || format == .openlane)
            let results = try plugin.parseAll(raw: raw, options: options)
            var calibrationSet: [String: SampleCalibration]?
            if let calibration {
                guard let data = FileManager.default.contents(atPath: calibration) else {
                    throw AgentError(.invalidArgument, "\(calibration): cannot read the calibration file")
                }
                calibrationSet = try SampleCalibration.readSet(JSONReader.parse(Array(data), source: calibration), source: calibration)
            }
            return try format.render(
                results, conventions: plugin.exportConventions, calibration: calibrationSet, submissionInfo: info, pretty: pretty)
        }
    }

    /// Renders `iterations` times from the raw bytes already in memory (file reading excluded) and
    /// returns `{"iterations", "median_ms", "min_ms", "output_bytes"}` as JSON text, for `bench/parse`.
    public func benchmark(plugins: [any ModelPlugin], iterations: Int) throws(AgentError) -> String {
        guard let plugin = plugins.first(where: { $0.manifest.name.lowercased() == model.lowercased() }) else {
            throw AgentError(.invalidArgument, "unknown model '\(model)'")
        }
        guard let data = FileManager.default.contents(atPath: input) else {
            throw AgentError(.invalidArgument, "\(input): cannot read the raw output")
        }
        let bytes = Array(data)
        var calibrationSet: [String: SampleCalibration]?
        // Per iteration: the whole path, and its stages (decode the JSON, parse into standard results, render).
        var samples: [Double] = [], decodes: [Double] = [], parses: [Double] = [], renders: [Double] = []
        var size = 0
        do {
            if let calibration, let text = FileManager.default.contents(atPath: calibration) {
                calibrationSet = try SampleCalibration.readSet(JSONReader.parse(Array(text), source: calibration))
            }
            let options = ParseOptions(
                scoreThreshold: scoreThreshold, sampleID: sampleID, topologyThreshold: topologyThreshold, denseTopology: format == .openlane)
            for _ in 0..<iterations {
                let start = ContinuousClock.now
                let raw = try JSONReader.parse(bytes, source: input)
                let decoded = ContinuousClock.now
                let results = try plugin.parseAll(raw: raw, options: options)
                let parsed = ContinuousClock.now
                size = try format.render(results, conventions: plugin.exportConventions, calibration: calibrationSet, pretty: false).count
                let end = ContinuousClock.now
                samples.append((end - start).inMilliseconds)
                decodes.append((decoded - start).inMilliseconds)
                parses.append((parsed - decoded).inMilliseconds)
                renders.append((end - parsed).inMilliseconds)
            }
        } catch {
            throw AgentError(error)
        }
        func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }
        return #"{"iterations": \#(iterations), "median_ms": \#(median(samples)), "min_ms": \#(samples.min() ?? 0), "output_bytes": \#(size), "# +
            #""decode_median_ms": \#(median(decodes)), "parse_median_ms": \#(median(parses)), "render_median_ms": \#(median(renders))}"#
    }

    /// Converts an OpenLane-V2 JSON submission into the devkit's pickle with `Plugins/openlane_pickle.py`,
    /// through the ``CommandRunner`` (python3 and numpy must be present).
    public static func writeOpenLanePickle(json: String, pickle: String, pluginsDir: String, runner: CommandRunner) async throws(AgentError) {
        let spec = ProcessSpec(executable: "python3", arguments: ["\(pluginsDir)/openlane_pickle.py", json, pickle])
        let output = try await runner.run(spec, timeout: .seconds(300))
        guard output.status.succeeded else {
            throw AgentError(.system, "openlane_pickle.py \(output.status): \(output.stderr.trimmingSpace())")
        }
    }
}
