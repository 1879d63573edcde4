#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The formats `podagent parse` and the agent can write results in.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// The standard result (one object, or a list for several samples).
    case standard
    /// nuScenes detection submission (`results_nusc.json`).
    case nuscenes
    /// The vector-map results: MapTR's `nuscmap_results.json`, or VAD's `map_results` (``ExportConventions/Map``).
    case nuscmap
    /// OpenLane-V2 submission (JSON keyed by `split/segment_id/timestamp`).
    case openlane

    /// Renders `results` in this format.
    /// - Parameters:
    ///   - conventions: the model's (``ModelPlugin/exportConventions``): `use_external`, whose detection and map files.
    ///   - calibration: per sample token; required by ``nuscenes``.
    ///   - submissionInfo: the OpenLane-V2 header (``openlane``); without it the header keys are left out.
    public func render(
        _ results: [StandardResult], conventions: ExportConventions = ExportConventions(),
        calibration: [String: SampleCalibration]? = nil, submissionInfo: OpenLaneSubmissionInfo? = nil, pretty: Bool = false
    ) throws(PluginError) -> [UInt8] {
        if submissionInfo != nil, self != .openlane {
            throw PluginError(.unsupportedExport, "submission info belongs to the openlane format, not \(rawValue)")
        }
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
            return try JSONWriter.write(NuScenesExport.submission(results, calibration: calibration, conventions: conventions), pretty: pretty)
        case .nuscmap:
            return try JSONWriter.write(NuScenesMapExport.submission(results, conventions: conventions), pretty: pretty)
        case .openlane:
            return try JSONWriter.write(OpenLaneExport.submission(results, info: submissionInfo), pretty: pretty)
        }
    }
}
