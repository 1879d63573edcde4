/// PETR (megvii-research/PETR): multi-camera 3D detection, boxes in the mmdet3d 0.17 convention.
///
/// Raw: `{"pts_bbox": {"boxes_3d": (N<=300,9), "scores_3d": (N,), "labels_3d": (N,)}}`.
public struct PETRPlugin: ModelPlugin {
    public let manifest: PluginManifest
    let convention: BoxConvention

    public init(manifest: PluginManifest) throws(PluginError) {
        try self.init(manifest: manifest, convention: .mmdet3d017)
    }

    init(manifest: PluginManifest, convention: BoxConvention) throws(PluginError) {
        guard !manifest.classNames.isEmpty else {
            throw PluginError(.invalidManifest, "\(manifest.sourcePath): key 'class_names': the detection classes are required")
        }
        self.manifest = manifest
        self.convention = convention
    }

    public var inputs: [TensorMetadata] {
        [TensorMetadata("img", "FP32", [1, 6, 3, -1, -1]), TensorMetadata("lidar2img", "FP32", [1, 6, 4, 4])]
    }
    public var outputs: [TensorMetadata] {
        [TensorMetadata("boxes_3d", "FP32", [-1, 9]), TensorMetadata("scores_3d", "FP32", [-1]), TensorMetadata("labels_3d", "INT64", [-1])]
    }

    public func decode(sample: JSONValue, into result: inout StandardResult, options: ParseOptions) throws(PluginError) {
        let bbox = try sample.require("pts_bbox", in: "")
        result.meta.boxConvention = convention.rawValue
        result.detections = try DetectionDecoder(convention: convention, classes: manifest.classNames)
            .decode(bbox, path: "pts_bbox", threshold: result.meta.scoreThreshold, warnings: &result.meta.warnings)
            .map(\.detection)
    }
}
