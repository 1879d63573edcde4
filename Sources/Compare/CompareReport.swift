/// `report.json` (schema: docs/compare.schema.json). Keys are snake_case; seconds, metres, MiB.
public struct CompareReport: Sendable, Codable, Equatable {
    public static let currentSchemaVersion = "1.0"

    public var schemaVersion: String
    public var generatedAt: String
    /// `podctl` or `podagent`.
    public var tool: String
    public var models: [String]
    public var samples: [String]
    public var thresholds: Thresholds
    public var perModel: [ModelSummary]
    public var agreement: [Agreement]
    public var failures: [Failure]
    /// One sample's geometry per model, for the bird's-eye view; nil when no sample succeeded anywhere.
    public var birdsEye: BirdsEye?

    public struct Thresholds: Sendable, Codable, Equatable {
        public var boxCentreM: [Double]
        public var mapChamferM: [Double]
        enum CodingKeys: String, CodingKey { case boxCentreM = "box_centre_m", mapChamferM = "map_chamfer_m" }
    }

    public struct Distribution: Sendable, Codable, Equatable {
        public var p50: Double
        public var p95: Double
        public var max: Double
        public var mean: Double
    }

    public struct ModelSummary: Sendable, Codable, Equatable {
        public var model: String
        public var pods: [String]
        public var requests: Int
        public var succeeded: Int
        public var failed: Int
        /// Client-measured seconds per successful request; nil when none succeeded.
        public var latencyS: Distribution?
        /// The agent's own timings (queue_s, inference_s, parse_s, total_s), p50 over successful requests.
        public var serverTimingsP50S: [String: Double]
        /// The largest GPU memory seen (per-request header, or the index's resident figure); nil when unknown (no GPU).
        public var gpuMemoryPeakMiB: Double?
        /// The slowest instance load the agents reported; nil when unknown.
        public var loadS: Double?
        public var failuresByKind: [String: Int]
        /// Section (`detections`, `map_elements`, `lane_centerlines`, `traffic_elements`) → class → items, summed over samples.
        public var outputsPerClass: [String: [String: Int]]
        /// Section → mean items per successful sample.
        public var outputsPerSample: [String: Double]

        enum CodingKeys: String, CodingKey {
            case model, pods, requests, succeeded, failed
            case latencyS = "latency_s"
            case serverTimingsP50S = "server_timings_p50_s"
            case gpuMemoryPeakMiB = "gpu_memory_peak_mib"
            case loadS = "load_s"
            case failuresByKind = "failures_by_kind"
            case outputsPerClass = "outputs_per_class"
            case outputsPerSample = "outputs_per_sample"
        }
    }

    /// Two models' agreement on one section, over the samples both answered.
    public struct Agreement: Sendable, Codable, Equatable {
        public var models: [String]
        public var section: String
        /// `centre_distance` (boxes, metres in the ground plane) or `chamfer` (polylines, metres).
        public var metric: String
        public var samples: Int
        public var levels: [Level]

        public struct Level: Sendable, Codable, Equatable {
            public var thresholdM: Double
            /// Items of the first model matched when it plays "prediction" and the second "ground truth".
            public var matchedFirst: Int
            /// The same with the roles swapped.
            public var matchedSecond: Int
            public var countFirst: Int
            public var countSecond: Int
            /// (matched_first + matched_second) / (count_first + count_second): symmetric, 0..1; nil when both are empty.
            public var agreement: Double?
            /// Mean distance of the first direction's matches; nil without matches.
            public var meanDistanceM: Double?

            enum CodingKeys: String, CodingKey {
                case agreement
                case thresholdM = "threshold_m"
                case matchedFirst = "matched_first"
                case matchedSecond = "matched_second"
                case countFirst = "count_first"
                case countSecond = "count_second"
                case meanDistanceM = "mean_distance_m"
            }
        }
    }

    public struct Failure: Sendable, Codable, Equatable {
        public var model: String
        public var sample: String
        public var pod: String
        public var kind: String
        public var message: String
    }

    public struct BirdsEye: Sendable, Codable, Equatable {
        public var sample: String
        public var models: [ModelGeometry]
    }

    public struct ModelGeometry: Sendable, Codable, Equatable {
        public var model: String
        public var boxes: [Box]
        public var polylines: [Polyline]
        /// Future paths `[[x, y], ...]`: every mode of every box (VAD), then the ego plan.
        public var trajectories: [[[Double]]]

        public struct Box: Sendable, Codable, Equatable {
            public var label: String
            public var score: Double
            public var centerXY: [Double]
            public var sizeWL: [Double]
            public var yaw: Double
            enum CodingKeys: String, CodingKey {
                case label, score, yaw
                case centerXY = "center_xy"
                case sizeWL = "size_wl"
            }
        }

        public struct Polyline: Sendable, Codable, Equatable {
            public var label: String
            public var points: [[Double]]
        }
    }

    enum CodingKeys: String, CodingKey {
        case tool, models, samples, thresholds, agreement, failures
        case schemaVersion = "schema_version"
        case generatedAt = "generated_at"
        case perModel = "per_model"
        case birdsEye = "birds_eye"
    }
}
