/// The OpenLane-V2 v1.0 submission for TopoMLP results.
///
/// JSON cannot key an object by a tuple, so `results` is keyed by `"split/segment_id/timestamp"`;
/// `Plugins/openlane_pickle.py` turns that into the devkit's pickle with `(split, segment_id, timestamp)` keys.
public enum OpenLaneExport {
    /// The submission; every result needs lanes, traffic elements and the dense topology
    /// (parse with ``ParseOptions/denseTopology``) and a `split/segment_id/timestamp` sample id.
    ///
    /// With `info` the five header keys come first, as a leaderboard submission needs them. Without it
    /// they are left out: the devkit's `evaluate` then still runs (its `check_results` prints "Missing key"
    /// and goes on, check.py l.52-54), which suits a local evaluation; an empty country would make it raise.
    /// Checked as the devkit's `check_results` checks each frame: ids unique across lanes and traffic
    /// elements (l.103-107), lane points (N, 3) (l.98), traffic-element points (2, 2) (l.100), matrix
    /// sizes matching the lists (l.115, l.124).
    public static func submission(_ results: [StandardResult], info: OpenLaneSubmissionInfo? = nil) throws(PluginError) -> JSONValue {
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
            var ids: Set<Int> = []
            for id in lanes.map(\.id) + elements.map(\.id) where !ids.insert(id).inserted {
                throw PluginError(.invalidValue, "sample '\(key)': id \(id) is used twice; OpenLane-V2 needs ids unique across lanes and traffic elements")
            }
            for lane in lanes where lane.pointsEgo.isEmpty || lane.pointsEgo.dimension != 3 {
                throw PluginError(.invalidValue, "sample '\(key)': lane \(lane.id): points must be (N, 3) with N >= 1")
            }
            for element in elements where element.bboxImageFront.count != 4 {
                throw PluginError(.invalidValue, "sample '\(key)': traffic element \(element.id): expected [x1, y1, x2, y2]")
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
        return .object((info?.members ?? []) + [("results", .object(entries))])
    }
}
