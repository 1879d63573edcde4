import Foundation
import Testing
@testable import Plugins

/// `jsonBytes()` writes results by hand for speed; these tests hold it to the `Codable` conformance.
@Suite("The result writer matches JSONEncoder")
struct ResultJSONWriterTests {
    /// What JSONEncoder makes of the same result (the `Codable` conformance is the reference).
    func reference(_ result: StandardResult) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(result)
    }

    func same(_ ours: [UInt8], _ theirs: Data) throws -> Bool {
        let left = try #require(try JSONSerialization.jsonObject(with: Data(ours)) as? NSDictionary)
        let right = try #require(try JSONSerialization.jsonObject(with: theirs) as? NSDictionary)
        return left.isEqual(right)
    }

    @Test("every model's result, with raw output, dense topology and warnings", arguments: ParserTests.models)
    func everyModel(model: String) throws {
        let plugin = try Fixture.plugin(ParserTests.names[model] ?? model)
        for variant in ["typical", "nan", "low", "zero"] {
            var result = try plugin.parse(rawJSON: Fixture.bytes("\(model)_\(variant).json"),
                                          options: ParseOptions(sampleID: "tok/\"quoted\"", includeRaw: true, denseTopology: true))
            result.meta.timingsSeconds["inference_s"] = 0.0125
            result.meta.boxConvention = result.meta.boxConvention ?? "mmdet3d-1.0"
            let ours = try result.jsonBytes()
            #expect(try same(ours, reference(result)), "\(model)_\(variant): \(String(decoding: ours.prefix(400), as: UTF8.self))")
            // Without raw (whose NaNs become null), the bytes decode back to the very same result.
            result.raw = nil
            #expect(try StandardResult.decode(Data(try result.jsonBytes())) == result, "\(model)_\(variant)")
        }
    }

    @Test("sections a model does not fill are absent, keys are sorted, and a non-finite number is an error")
    func shapeAndErrors() throws {
        var result = StandardResult(meta: ResultMeta(model: "PETR", pluginVersion: "1", checkpoint: "c.pth", scoreThreshold: 0.25, sampleID: nil))
        result.detections = [Detection3D(label: "car", labelIndex: 0, score: 0.5, centerLidar: [1, 2.5, -1], sizeWlh: [1.8, 4.5, 1.6],
                                         yawLidar: 0.1, velocityLidar: [0, 0])]
        let text = String(decoding: try result.jsonBytes(), as: UTF8.self)
        #expect(text == #"{"detections":[{"center_lidar":[1,2.5,-1],"label":"car","label_index":0,"score":0.5,"size_wlh":[1.8,4.5,1.6],"#
            + #""velocity_lidar":[0,0],"yaw_lidar":0.1}],"meta":{"checkpoint":"c.pth","model":"PETR","plugin_version":"1","#
            + #""score_threshold":0.25,"timings_seconds":{},"warnings":[]},"schema_version":"1.0"}"#)
        #expect(try same(Array(text.utf8), reference(result)))
        result.detections?[0].score = .nan
        let error = #expect(throws: PluginError.self) { try result.jsonBytes() }
        #expect(error?.code == .invalidValue && error?.message.contains("not finite") == true)
    }
}
