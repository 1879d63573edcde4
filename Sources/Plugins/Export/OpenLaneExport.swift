/// The OpenLane-V2 v1.0 submission for TopoMLP results.
///
/// JSON cannot key an object by a tuple, so `results` is keyed by `"split/segment_id/timestamp"`;
/// `Plugins/openlane_pickle.py` turns that into the devkit's pickle with `(split, segment_id, timestamp)` keys.
public enum OpenLaneExport {
    /// The submission's header fields.
    public struct Header: Sendable, Equatable {
        public var method: String
        public var authors: [String]
        public var email: String
        public var institution: String
        public var country: String

        public init(method: String = "PodAgent", authors: [String] = [], email: String = "", institution: String = "", country: String = "") {
            self.method = method
            self.authors = authors
            self.email = email
            self.institution = institution
            self.country = country
        }
    }

    /// The submission; every result needs lanes, traffic elements and the dense topology
    /// (parse with ``ParseOptions/denseTopology``) and a `split/segment_id/timestamp` sample id.
    public static func submission(_ results: [StandardResult], header: Header = Header()) throws(PluginError) -> JSONValue {
        var entries: [(String, JSONValue)] = []
        var seen: Set<String> = []
        for result in results {
            guard let lanes = result.laneCenterlines, let elements = result.trafficElements, let topology = result.topology else {
                throw PluginError(.unsupportedExport, "the OpenLane-V2 format needs lanes, traffic elements and topology; model \(result.meta.model) gives none")
            }
            guard let lclc = topology.laneLaneDense, let lcte = topology.laneTrafficDense else {
                throw PluginError(.unsupportedExport, "the OpenLane-V2 format needs the dense topology matrices: parse with dense topology on")
            }
            guard let key = result.meta.sampleID, key.split(separator: "/", omittingEmptySubsequences: false).count == 3,
                  !key.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
                throw PluginError(.invalidValue, "sample_id '\(result.meta.sampleID ?? "")' is not 'split/segment_id/timestamp' as OpenLane-V2 keys its frames")
            }
            guard seen.insert(key).inserted else { throw PluginError(.invalidValue, "sample '\(key)' appears twice") }
            // The devkit's check_results: matrix sizes match the list lengths.
            guard lclc.count == lanes.count, lclc.allSatisfy({ $0.count == lanes.count }),
                  lcte.count == lanes.count, lcte.allSatisfy({ $0.count == elements.count }) else {
                throw PluginError(.invalidValue, "sample '\(key)': topology matrices do not match \(lanes.count) lanes and \(elements.count) traffic elements")
            }
            let laneValues: [JSONValue] = lanes.map { lane in
                .object([
                    ("id", .number(Double(lane.id))),
                    ("points", .array(lane.pointsEgo.map { NuScenesExport.numbers($0) })),
                    ("confidence", .number(lane.score)),
                ])
            }
            let elementValues: [JSONValue] = elements.map { element in
                let b = element.bboxImageFront
                return .object([
                    ("id", .number(Double(element.id))),
                    ("attribute", .number(Double(element.attributeIndex))),
                    ("points", .array([NuScenesExport.numbers([b[0], b[1]]), NuScenesExport.numbers([b[2], b[3]])])),
                    ("confidence", .number(element.score)),
                ])
            }
            entries.append((key, .object([("predictions", .object([
                ("lane_centerline", .array(laneValues)),
                ("traffic_element", .array(elementValues)),
                ("topology_lclc", .array(lclc.map { NuScenesExport.numbers($0) })),
                ("topology_lcte", .array(lcte.map { NuScenesExport.numbers($0) })),
            ]))])))
        }
        return .object([
            ("method", .string(header.method)),
            ("authors", .array(header.authors.map { .string($0) })),
            ("e-mail", .string(header.email)),
            ("institution / company", .string(header.institution)),
            ("country / region", .string(header.country)),
            ("results", .object(entries)),
        ])
    }
}
