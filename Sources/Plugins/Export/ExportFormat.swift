import Foundation

/// The formats `podagent parse` and the agent can write results in.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// The standard result (one object, or a list for several samples).
    case standard
    /// nuScenes detection submission (`results_nusc.json`).
    case nuscenes
    /// MapTR's `nuscmap_results.json`.
    case nuscmap
    /// OpenLane-V2 submission (JSON keyed by `split/segment_id/timestamp`).
    case openlane

    /// Renders `results` in this format.
    /// - Parameter calibration: per sample token; required by ``nuscenes``.
    public func render(
        _ results: [StandardResult], calibration: [String: SampleCalibration]? = nil, pretty: Bool = false
    ) throws(PluginError) -> [UInt8] {
        switch self {
        case .standard:
            if results.count == 1 { return Array(try results[0].jsonData(pretty: pretty)) }
            if !pretty {
                var out: [UInt8] = [UInt8(ascii: "[")]
                for (index, result) in results.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    out += try result.jsonBytes()
                }
                return out + [UInt8(ascii: "]")]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            do { return Array(try encoder.encode(results)) } catch {
                throw PluginError(.invalidValue, "cannot encode the results as JSON: \(error)")
            }
        case .nuscenes:
            guard let calibration else {
                throw PluginError(.invalidCalibration, "the nuScenes format needs per-sample calibration (lidar2ego and ego2global)")
            }
            return try JSONWriter.write(NuScenesExport.submission(results, calibration: calibration), pretty: pretty)
        case .nuscmap:
            return try JSONWriter.write(NuScenesMapExport.submission(results), pretty: pretty)
        case .openlane:
            return try JSONWriter.write(OpenLaneExport.submission(results), pretty: pretty)
        }
    }
}
