/// Demo: the SYNTHETIC model (Plugins/Demo) for trying podagent without a GPU or weights.
///
/// Raw: `{"synthetic": true, "format": "maptr"|"petr"|"streampetr"|"topomlp"|"vad", "output": <that model's raw>}`.
/// The output is parsed by the real parser of that format, built from the Demo manifest (its
/// detection and map classes; TopoMLP's traffic-element attributes), and the result says it is synthetic.
public struct DemoPlugin: ModelPlugin {
    /// The warning every Demo result carries, so nobody mistakes it for a model's answer.
    public static let syntheticWarning = "synthetic output from the Demo model: not a real model's prediction"

    public let manifest: PluginManifest
    /// One parser per raw format, by format name.
    let formats: [String: any ModelPlugin]

    public init(manifest: PluginManifest) throws(PluginError) {
        guard let mapClasses = manifest.mapClassNames, !mapClasses.isEmpty else {
            throw PluginError(.invalidManifest, "\(manifest.sourcePath): key 'map_class_names': the Demo's map classes are required")
        }
        var map = manifest
        map.classNames = mapClasses
        var lanes = manifest
        lanes.classNames = TopoMLPPlugin.attributes
        self.manifest = manifest
        self.formats = [
            "maptr": try MapTRPlugin(manifest: map),
            "petr": try PETRPlugin(manifest: manifest),
            "streampetr": try StreamPETRPlugin(manifest: manifest),
            "topomlp": try TopoMLPPlugin(manifest: lanes),
            "vad": try VADPlugin(manifest: manifest),
        ]
    }

    public var platform: String { "synthetic" }
    public var inputs: [TensorMetadata] { [TensorMetadata("sample", "BYTES", [1])] }
    public var outputs: [TensorMetadata] { [TensorMetadata("raw", "BYTES", [1])] }

    public func decode(sample: JSONValue, into result: inout StandardResult, options: ParseOptions) throws(PluginError) {
        guard case .bool(true) = sample["synthetic"] else {
            throw PluginError(.missingKey, "key 'synthetic': the Demo's raw output must say it is synthetic ({\"synthetic\": true, ...})")
        }
        guard let format = sample["format"]?.stringValue else {
            throw PluginError(.missingKey, "key 'format': expected the raw format's name")
        }
        guard let plugin = formats[format] else {
            throw PluginError(.invalidValue, "key 'format': unknown raw format '\(format)' (known: \(formats.keys.sorted().joined(separator: ", ")))")
        }
        guard let output = sample["output"] else {
            throw PluginError(.missingKey, "key 'output': the \(format) raw output is missing")
        }
        var inner = options
        inner.sampleID = result.meta.sampleID
        inner.includeRaw = false
        var parsed: StandardResult
        do {
            parsed = try plugin.parse(raw: output, options: inner)
        } catch {
            throw PluginError(error.code, "output (\(format)): \(error.message)")
        }
        parsed.meta.model = result.meta.model
        parsed.meta.pluginVersion = result.meta.pluginVersion
        parsed.meta.checkpoint = result.meta.checkpoint
        parsed.meta.warnings.insert("\(Self.syntheticWarning) (raw format \(format))", at: 0)
        result = parsed
    }
}
