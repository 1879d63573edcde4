/// MapTR (hustvl/MapTR): a vectorised local map of dividers, pedestrian crossings and boundaries.
///
/// Raw: `{"pts_bbox": {"boxes_3d": (N,4), "scores_3d": (N,), "labels_3d": (N,), "pts_3d": (N,20,2)}}`,
/// N <= 50, points already in metres in the LiDAR frame. The coder applies no score threshold.
public struct MapTRPlugin: ModelPlugin {
    public let manifest: PluginManifest

    public init(manifest: PluginManifest) throws(PluginError) {
        guard !manifest.classNames.isEmpty else {
            throw PluginError(.invalidManifest, "\(manifest.sourcePath): key 'class_names': the map classes are required")
        }
        self.manifest = manifest
    }

    public var inputs: [TensorMetadata] { [TensorMetadata("img", "FP32", [1, 6, 3, -1, -1])] }
    public var outputs: [TensorMetadata] {
        [
            TensorMetadata("boxes_3d", "FP32", [-1, 4]), TensorMetadata("scores_3d", "FP32", [-1]),
            TensorMetadata("labels_3d", "INT64", [-1]), TensorMetadata("pts_3d", "FP32", [-1, 20, 2]),
        ]
    }

    public func decode(sample: JSONValue, into result: inout StandardResult, options: ParseOptions) throws(PluginError) {
        let bbox = try sample.require("pts_bbox", in: "")
        result.mapElements = try MapDecoder(classes: manifest.classNames)
            .decode(bbox, path: "pts_bbox", threshold: result.meta.scoreThreshold, warnings: &result.meta.warnings)
    }
}
