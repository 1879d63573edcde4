/// The one result every model's output is parsed into (schema in `docs/result-schema.md` and
/// `docs/result.schema.json`).
///
/// snake_case on the wire, SI units (metres, radians, seconds, m/s), and each geometric field's name
/// ends with its frame: `_lidar` (nuScenes LIDAR_TOP), `_ego` (OpenLane-V2 ego, x forward),
/// `_image_front` (pixels of the original front image). Sections a model does not produce are absent.
public struct StandardResult: Sendable, Equatable, Codable {
    /// The version of this schema; bumped on any incompatible change.
    public static let currentSchemaVersion = "1.0"

    public var schemaVersion: String
    public var meta: ResultMeta
    public var detections: [Detection3D]?
    public var mapElements: [MapElement]?
    public var egoPlan: EgoPlan?
    public var laneCenterlines: [LaneCenterline]?
    public var trafficElements: [TrafficElement]?
    public var topology: Topology?
    /// The raw output as the worker sent it, when `include_raw` was asked for.
    public var raw: JSONValue?

    public init(meta: ResultMeta) {
        self.schemaVersion = Self.currentSchemaVersion
        self.meta = meta
    }

    enum CodingKeys: String, CodingKey {
        case meta, topology, raw, detections
        case schemaVersion = "schema_version"
        case mapElements = "map_elements"
        case egoPlan = "ego_plan"
        case laneCenterlines = "lane_centerlines"
        case trafficElements = "traffic_elements"
    }
}

/// Where a result came from and how it was made.
public struct ResultMeta: Sendable, Equatable, Codable {
    public var model: String
    public var pluginVersion: String
    public var checkpoint: String
    /// Items scoring below this were left out.
    public var scoreThreshold: Double
    /// The dataset's sample identifier (nuScenes sample token; OpenLane-V2 `split/segment_id/timestamp`).
    public var sampleID: String?
    /// The mmdet3d box convention the raw boxes were read in (`mmdet3d-0.17`, `mmdet3d-1.0`).
    public var boxConvention: String?
    /// Seconds spent per stage: `parse` always; `inference` and others when the caller adds them.
    public var timingsSeconds: [String: Double]
    /// Things the parser dropped or noticed (e.g. detections with a NaN score), one sentence each.
    public var warnings: [String]

    public init(model: String, pluginVersion: String, checkpoint: String, scoreThreshold: Double, sampleID: String?) {
        self.model = model
        self.pluginVersion = pluginVersion
        self.checkpoint = checkpoint
        self.scoreThreshold = scoreThreshold
        self.sampleID = sampleID
        self.timingsSeconds = [:]
        self.warnings = []
    }

    enum CodingKeys: String, CodingKey {
        case model, checkpoint, warnings
        case pluginVersion = "plugin_version"
        case scoreThreshold = "score_threshold"
        case sampleID = "sample_id"
        case boxConvention = "box_convention"
        case timingsSeconds = "timings_seconds"
    }
}

/// One 3D box in the LiDAR frame (nuScenes LIDAR_TOP), in nuScenes' own box convention.
public struct Detection3D: Sendable, Equatable, Codable {
    public var label: String
    public var labelIndex: Int
    public var score: Double
    /// Gravity centre `[x, y, z]` metres (the raw boxes give the bottom centre; z + h/2).
    public var centerLidar: [Double]
    /// `[w, l, h]` metres along the box's own axes (width, length, height).
    public var sizeWlh: [Double]
    /// Heading about z, radians: the angle from the LiDAR x axis to the box's length axis, counter-clockwise.
    public var yawLidar: Double
    /// `[vx, vy]` m/s.
    public var velocityLidar: [Double]
    /// Predicted future positions, modes × steps × `[x, y]` metres (absolute, not offsets); VAD only.
    public var trajectoriesLidar: PointLists?
    /// Seconds between trajectory steps.
    public var trajectoryStepSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case label, score
        case labelIndex = "label_index"
        case centerLidar = "center_lidar"
        case sizeWlh = "size_wlh"
        case yawLidar = "yaw_lidar"
        case velocityLidar = "velocity_lidar"
        case trajectoriesLidar = "trajectories_lidar"
        case trajectoryStepSeconds = "trajectory_step_seconds"
    }
}

/// One vectorised map element (divider, pedestrian crossing, boundary) in the LiDAR frame.
public struct MapElement: Sendable, Equatable, Codable {
    public var label: String
    public var labelIndex: Int
    public var score: Double
    /// The polyline's points `[x, y]` metres, in order.
    public var polylineLidar: PointList
    /// The element's box `[xmin, ymin, xmax, ymax]` metres.
    public var bboxLidar: [Double]

    enum CodingKeys: String, CodingKey {
        case label, score
        case labelIndex = "label_index"
        case polylineLidar = "polyline_lidar"
        case bboxLidar = "bbox_lidar"
    }
}

/// The ego vehicle's planned path (VAD).
public struct EgoPlan: Sendable, Equatable, Codable {
    /// One command's candidate path.
    public struct Candidate: Sendable, Equatable, Codable {
        public var command: String
        /// Future positions `[x, y]` metres (absolute: the offsets summed).
        public var trajectoryLidar: PointList

        enum CodingKeys: String, CodingKey {
            case command
            case trajectoryLidar = "trajectory_lidar"
        }
    }

    /// The driving command the model was given (`turn_right`, `turn_left`, `go_straight`).
    public var command: String
    public var commandIndex: Int
    /// The chosen command's future positions `[x, y]` metres.
    public var trajectoryLidar: PointList
    public var stepSeconds: Double
    /// Every command's candidate, in the model's command order.
    public var candidates: [Candidate]

    enum CodingKeys: String, CodingKey {
        case command, candidates
        case commandIndex = "command_index"
        case trajectoryLidar = "trajectory_lidar"
        case stepSeconds = "step_seconds"
    }
}

/// One lane centreline (TopoMLP) in the ego frame.
public struct LaneCenterline: Sendable, Equatable, Codable {
    /// OpenLane-V2 id (`1000 + position` in the devkit's order).
    public var id: Int
    public var score: Double
    /// `[x, y, z]` metres, 11 points sampled along the Bezier curve.
    public var pointsEgo: PointList

    enum CodingKeys: String, CodingKey {
        case id, score
        case pointsEgo = "points_ego"
    }
}

/// One traffic element (light or sign) in the front image.
public struct TrafficElement: Sendable, Equatable, Codable {
    /// OpenLane-V2 id (`2000 + query index`).
    public var id: Int
    public var attribute: String
    public var attributeIndex: Int
    public var score: Double
    /// `[x1, y1, x2, y2]` pixels in the original front image.
    public var bboxImageFront: [Double]

    enum CodingKeys: String, CodingKey {
        case id, attribute, score
        case attributeIndex = "attribute_index"
        case bboxImageFront = "bbox_image_front"
    }
}

/// Lane–lane and lane–traffic-element relations.
public struct Topology: Sendable, Equatable, Codable {
    /// A relation with its probability; ids are those of ``LaneCenterline`` and ``TrafficElement``.
    public struct Pair: Sendable, Equatable, Codable {
        public var from: Int
        public var to: Int
        public var probability: Double
    }

    /// Pairs are listed when their probability is at least this.
    public var threshold: Double
    /// `from` lane flows into `to` lane.
    public var laneLane: [Pair]
    /// `from` lane is governed by `to` traffic element.
    public var laneTraffic: [Pair]
    /// The dense lane × lane matrix, rows and columns in ``StandardResult/laneCenterlines`` order (on request).
    public var laneLaneDense: [[Double]]?
    /// The dense lane × traffic-element matrix, in list order (on request).
    public var laneTrafficDense: [[Double]]?

    enum CodingKeys: String, CodingKey {
        case threshold
        case laneLane = "lane_lane"
        case laneTraffic = "lane_traffic"
        case laneLaneDense = "lane_lane_dense"
        case laneTrafficDense = "lane_traffic_dense"
    }
}
