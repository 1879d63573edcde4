/// StreamPETR (exiawsh/StreamPETR): streaming 3D detection built on mmdet3d 1.0.0rc6, so its boxes
/// are `[x, y, z_bottom, l, w, h, yaw, vx, vy]` with yaw already the LiDAR yaw.
///
/// The model is stateful (memory reset on a new `scene_token`, frames in time order); that is the
/// worker's business. Its per-frame output has PETR's keys.
public struct StreamPETRPlugin: ModelPlugin {
    public let manifest: PluginManifest
    private let base: PETRPlugin

    public init(manifest: PluginManifest) throws(PluginError) {
        self.manifest = manifest
        self.base = try PETRPlugin(manifest: manifest, convention: .mmdet3d10)
    }

    public var inputs: [TensorMetadata] {
        [
            TensorMetadata("img", "FP32", [1, 6, 3, -1, -1]), TensorMetadata("lidar2img", "FP32", [1, 6, 4, 4]),
            TensorMetadata("intrinsics", "FP32", [1, 6, 4, 4]), TensorMetadata("extrinsics", "FP32", [1, 6, 4, 4]),
            TensorMetadata("timestamp", "FP64", [1]), TensorMetadata("img_timestamp", "FP64", [1, 6]),
            TensorMetadata("ego_pose", "FP32", [1, 4, 4]), TensorMetadata("ego_pose_inv", "FP32", [1, 4, 4]),
            TensorMetadata("scene_token", "BYTES", [1]),
        ]
    }
    public var outputs: [TensorMetadata] { base.outputs }

    public func decode(sample: JSONValue, into result: inout StandardResult, options: ParseOptions) throws(PluginError) {
        try base.decode(sample: sample, into: &result, options: options)
    }
}
