#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodAgentExtras

/// How to parse one raw output.
public struct ParseOptions: Sendable, Equatable {
    /// Items scoring below this are left out; nil uses the manifest's `default_score_threshold`.
    public var scoreThreshold: Double?
    /// The sample's identifier; nil takes the raw dump's `sample_id`/`sample_token` key when present.
    public var sampleID: String?
    /// Keep the raw output in ``StandardResult/raw``.
    public var includeRaw: Bool
    /// Topology pairs at or above this probability are listed.
    public var topologyThreshold: Double
    /// Also return the dense topology matrices (the OpenLane-V2 export needs them).
    public var denseTopology: Bool

    public init(
        scoreThreshold: Double? = nil, sampleID: String? = nil, includeRaw: Bool = false,
        topologyThreshold: Double = 0.5, denseTopology: Bool = false
    ) {
        self.scoreThreshold = scoreThreshold
        self.sampleID = sampleID
        self.includeRaw = includeRaw
        self.topologyThreshold = topologyThreshold
        self.denseTopology = denseTopology
    }
}

/// One input or output as the Open Inference Protocol's model metadata describes it.
public struct TensorMetadata: Sendable, Equatable, Codable {
    public var name: String
    /// OIP datatype: FP32, INT64, BYTES...
    public var datatype: String
    /// -1 for a size that varies.
    public var shape: [Int]

    public init(_ name: String, _ datatype: String, _ shape: [Int]) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
    }
}

/// A model's Swift side: turns its worker's raw JSON into the ``StandardResult``.
///
/// Each model has one type, built from its manifest; ``PluginRegistry`` lists them all.
public protocol ModelPlugin: Sendable {
    var manifest: PluginManifest { get }
    /// The framework the model runs on, for OIP metadata (`platform`).
    var platform: String { get }
    /// What the worker is given, for OIP metadata.
    var inputs: [TensorMetadata] { get }
    /// What the raw output holds, for OIP metadata.
    var outputs: [TensorMetadata] { get }
    /// What the exports follow for this model (its config's `use_external`, whose evaluation files).
    var exportConventions: ExportConventions { get }

    /// Parses one sample's raw output (`model(return_loss=False, rescale=True, **data)` as `tolist()` JSON).
    /// - Throws: ``PluginError`` naming the key, the expected and the actual shape, or the bad value.
    func decode(sample: JSONValue, into result: inout StandardResult, options: ParseOptions) throws(PluginError)
}

extension ModelPlugin {
    public var platform: String { "pytorch_mmdetection3d" }

    /// mmdet3d's nuScenes detection file and MapTR's map file, with the manifest's `use_external`.
    public var exportConventions: ExportConventions { ExportConventions(useExternal: manifest.useExternal) }

    /// Parses one sample's raw output into a standard result, with meta and timings filled in.
    ///
    /// A one-element list (the model's batch of one) is unwrapped; a longer list is an error
    /// (use ``parseAll(raw:options:)``).
    public func parse(raw: JSONValue, options: ParseOptions = ParseOptions()) throws(PluginError) -> StandardResult {
        let start = ContinuousClock.now
        var sample = raw
        if case .array(let items) = raw {
            guard items.count == 1 else {
                throw PluginError(.wrongShape, "key '<root>': expected one sample (an object, or a list of one), got a list of \(items.count)")
            }
            sample = items[0]
        }
        guard case .object = sample else {
            throw PluginError(.wrongShape, "key '<root>': expected an object holding the model's outputs, got \(sample.kind)")
        }
        // Read once: through the protocol each `manifest` read copies the whole manifest.
        let manifest = self.manifest
        let threshold = options.scoreThreshold ?? manifest.defaultScoreThreshold
        guard threshold.isFinite else { throw PluginError(.invalidValue, "score threshold \(threshold) is not a number") }
        let sampleID = options.sampleID ?? (sample["sample_id"] ?? sample["sample_token"])?.stringValue
        var result = StandardResult(meta: ResultMeta(
            model: manifest.name, pluginVersion: manifest.version, checkpoint: manifest.checkpoint.file,
            scoreThreshold: threshold, sampleID: sampleID))
        var effective = options
        effective.scoreThreshold = threshold
        try decode(sample: sample, into: &result, options: effective)
        if options.includeRaw { result.raw = raw }
        result.meta.timingsSeconds["parse"] = (ContinuousClock.now - start).inSeconds
        return result
    }

    /// Parses raw JSON bytes (one sample).
    public func parse(rawJSON: [UInt8], options: ParseOptions = ParseOptions()) throws(PluginError) -> StandardResult {
        try parse(raw: JSONReader.parse(rawJSON, source: "\(manifest.name) raw output"), options: options)
    }

    /// Parses a dump of several samples (a list, one object per sample) or a single sample.
    /// Sample ids come from each sample's `sample_id`/`sample_token` key, else `options.sampleID`
    /// for a single sample, else `sample_<index>`.
    public func parseAll(raw: JSONValue, options: ParseOptions = ParseOptions()) throws(PluginError) -> [StandardResult] {
        guard case .array(let items) = raw else { return [try parse(raw: raw, options: options)] }
        var results: [StandardResult] = []
        for (index, item) in items.enumerated() {
            var perSample = options
            let own = (item["sample_id"] ?? item["sample_token"])?.stringValue
            perSample.sampleID = own ?? (items.count == 1 ? options.sampleID : nil) ?? "sample_\(index)"
            do {
                results.append(try parse(raw: item, options: perSample))
            } catch {
                throw PluginError(error.code, "sample \(index): \(error.message)")
            }
        }
        return results
    }
}
