/// What an export follows beyond the results themselves: facts of the model's config and of its own
/// evaluation code, which differ between models. Each plugin gives its own (``ModelPlugin/exportConventions``).
public struct ExportConventions: Sendable, Equatable {
    /// Whose nuScenes detection submission to write.
    public enum Detection: String, Sendable, Equatable {
        /// mmdet3d's `NuScenesDataset._format_bbox`: boxes beyond nuScenes' `detection_cvpr_2019` class
        /// range (x-y distance in the ego frame) are dropped (PETR, StreamPETR).
        case mmdet3d
        /// VAD's `VADCustomNuScenesDataset._format_bbox` (nuscenes_vad_dataset.py l.1449-1516): boxes are kept
        /// when `|x| <= 30` and `|y| <= 15` m in the ego frame (`vad_nusc_detection_cvpr_2019.json`, applied in
        /// `lidar_nusc_box_to_global` l.1905-1911), and each carries `fut_traj` (l.1516).
        case vad
    }

    /// Whose vector-map results file to write.
    public enum Map: String, Sendable, Equatable {
        /// MapTR's `nuscmap_results.json`: `results` is a list, paired with the ground truth by index
        /// (MapTR `mean_ap.py` l.152 asserts equal length, l.205 zips), so it must be the whole val set in info order.
        case maptr
        /// VAD's: `map_results` is an object keyed by sample token (nuscenes_vad_dataset.py l.1539, l.1552),
        /// read by VAD's `mean_ap.py` l.205 as `gen_results.values()`: the whole val set in info order too.
        case vad
    }

    /// nuScenes `meta.use_external`: the model config's `input_modality['use_external']` (manifest `use_external`).
    public var useExternal: Bool
    public var detection: Detection
    public var map: Map

    public init(useExternal: Bool = false, detection: Detection = .mmdet3d, map: Map = .maptr) {
        self.useExternal = useExternal
        self.detection = detection
        self.map = map
    }

    /// The nuScenes `meta` block: camera only, as the five models' `input_modality` says, with `use_external` as given.
    var nuScenesMeta: JSONValue {
        .object([
            ("use_lidar", .bool(false)), ("use_camera", .bool(true)), ("use_radar", .bool(false)),
            ("use_map", .bool(false)), ("use_external", .bool(useExternal)),
        ])
    }
}
