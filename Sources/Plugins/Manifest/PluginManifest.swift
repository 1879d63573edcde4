/// What a `Plugins/<Model>/plugin.yaml` declares: the single source of truth that podagent and the
/// image recipes read about one model.
public struct PluginManifest: Sendable, Equatable, Codable {
    /// The kinds of output a model produces; a manifest-only model must produce one of these.
    public enum TaskKind: String, Sendable, Codable, CaseIterable {
        case detection3d, vectormap, lanegraph, planning
    }

    /// Where the model's code comes from.
    public struct Upstream: Sendable, Equatable, Codable {
        public var repository: String
        public var commit: String
    }

    /// The checkpoint the worker loads.
    public struct Checkpoint: Sendable, Equatable, Codable {
        public var file: String
        /// Lower-case hex; when present, `validate` compares the file's digest.
        public var sha256: String?
    }

    /// The software stack the model's image is built on.
    public struct Versions: Sendable, Equatable, Codable {
        public var pytorch: String
        public var cuda: String
        public var mmcv: String
        /// mmdetection3d's version; nil for models built on mmdetection alone (TopoMLP).
        public var mmdet3d: String?
        public var mmdet: String?
        public var baseImage: String

        enum CodingKeys: String, CodingKey {
            case pytorch, cuda, mmcv, mmdet3d, mmdet
            case baseImage = "base_image"
        }
    }

    /// How the model's worker runs.
    public struct Worker: Sendable, Equatable, Codable {
        /// `warm`: a long-lived process answering requests; `oneshot`: one process per request.
        public enum Mode: String, Sendable, Codable, CaseIterable { case warm, oneshot }
        /// `warm`: the worker's command line, `{plugin_dir}` and `{runtime_dir}` substituted.
        /// `oneshot`: a command template run once per request, with `{config}`, `{checkpoint}`,
        /// `{input}` (a JSON file holding the request's inputs) and `{output}` (where the script writes the raw JSON).
        public var command: [String]
        public var mode: Mode
        /// Free-form settings handed to the worker (as `PODAGENT_WORKER_OPTIONS`, a JSON object).
        public var options: [String: JSONValue] = [:]
    }

    /// Which literal assignments of the model's Python config `validate` compares with this manifest.
    public struct ConfigChecks: Sendable, Equatable, Codable {
        /// The config variable holding the class names (e.g. `class_names`, `map_classes`).
        public var classNamesVariable: String?
        /// The dotted keyword path holding the number of classes (e.g. `model.pts_bbox_head.num_classes`).
        public var numClassesPath: String?
        /// The config variable holding the point-cloud range.
        public var pointCloudRangeVariable: String?
        /// The config variable holding the map class names (VAD's `map_classes`), compared with `map_class_names`.
        public var mapClassNamesVariable: String?

        enum CodingKeys: String, CodingKey {
            case classNamesVariable = "class_names_variable"
            case numClassesPath = "num_classes_path"
            case pointCloudRangeVariable = "point_cloud_range_variable"
            case mapClassNamesVariable = "map_class_names_variable"
        }
    }

    public var name: String
    public var version: String
    /// The registered parser this model's output goes through (see ``PluginRegistry``).
    public var parser: String
    public var tasks: [TaskKind]
    public var upstream: Upstream
    /// The model config's path inside the image.
    public var config: String
    public var checkpoint: Checkpoint
    /// Class names in label order (for TopoMLP: the traffic-element attributes).
    public var classNames: [String]
    /// Map element classes in label order (MapTR's are `classNames`; VAD has both).
    public var mapClassNames: [String]?
    public var defaultScoreThreshold: Double
    /// `[xmin, ymin, zmin, xmax, ymax, zmax]` metres.
    public var pointCloudRange: [Double]
    public var versions: Versions
    public var worker: Worker
    public var timeoutSeconds: Double
    public var retries: Int
    public var configChecks: ConfigChecks?
    /// The model config's `input_modality['use_external']` (external data in training), written as nuScenes
    /// `meta.use_external` by the nuScenes and nuscmap exports; false when not declared.
    public var useExternal: Bool = false
    /// The model's whole software environment, what its image is built from; nil for a synthetic model.
    public var environment: Environment?
    /// True for a synthetic model (Demo): it has no upstream, config, checkpoint or software stack,
    /// so those keys may be left out (they read as empty) and `validate` has no files to check.
    public var synthetic: Bool?
    /// The file this manifest was read from (not part of the YAML).
    public var sourcePath: String

    enum CodingKeys: String, CodingKey {
        case name, version, parser, tasks, upstream, config, checkpoint, versions, worker, retries
        case classNames = "class_names"
        case mapClassNames = "map_class_names"
        case defaultScoreThreshold = "default_score_threshold"
        case pointCloudRange = "point_cloud_range"
        case timeoutSeconds = "timeout_seconds"
        case configChecks = "config_checks"
        case sourcePath = "source_path"
        case useExternal = "use_external"
        case synthetic
        case environment
    }

    /// Whether the manifest declares a synthetic model (no real config or checkpoint).
    public var isSynthetic: Bool { synthetic == true }
}
