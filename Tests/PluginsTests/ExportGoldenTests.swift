import Foundation
import Testing
@testable import Plugins

@Suite("Exports match the golden files made by the independent numpy implementation")
struct ExportGoldenTests {
    func render(
        _ model: String, fixture: String, format: ExportFormat, options: ParseOptions = ParseOptions(), info: OpenLaneSubmissionInfo? = nil
    ) throws -> JSONValue {
        let plugin = try Fixture.plugin(model)
        let results = try plugin.parseAll(raw: Fixture.json(fixture), options: options)
        let bytes = try format.render(
            results, conventions: plugin.exportConventions, calibration: format == .nuscenes ? Fixture.calibration() : nil,
            submissionInfo: info)
        return try JSONReader.parse(bytes, source: "\(model) \(format.rawValue) export")
    }

    @Test("golden exports", arguments: [
        ("PETR", "petr_typical.json", ExportFormat.nuscenes, "golden_petr_nuscenes.json"),
        ("StreamPETR", "streampetr_typical.json", .nuscenes, "golden_streampetr_nuscenes.json"),
        ("VAD", "vad_typical.json", .nuscenes, "golden_vad_nuscenes.json"),
        ("MapTR", "maptr_typical.json", .nuscmap, "golden_maptr_nuscmap.json"),
        ("VAD", "vad_typical.json", .nuscmap, "golden_vad_nuscmap.json"),
        ("TopoMLP", "topomlp_typical.json", .openlane, "golden_topomlp_openlane.json"),
        ("TopoMLP", "topomlp_typical.json", .openlane, "golden_topomlp_openlane_submission.json"),
    ])
    func golden(model: String, fixture: String, format: ExportFormat, golden: String) throws {
        let options = ParseOptions(denseTopology: format == .openlane)
        var info: OpenLaneSubmissionInfo?
        if golden.hasSuffix("_submission.json") {
            info = try OpenLaneSubmissionInfo.read(Fixture.json("submission_info.json"), source: "submission_info.json")
        }
        let output = try render(model, fixture: fixture, format: format, options: options, info: info)
        let expected = try Fixture.json(golden)
        let difference = approximatelyEqual(output, expected, tolerance: 1e-9)
        #expect(difference == nil, "\(golden): \(difference ?? "")")
    }

    @Test("nuScenes export drops boxes beyond the class range, in the ego frame")
    func classRange() throws {
        let output = try render("PETR", fixture: "petr_typical.json", format: .nuscenes)
        let names = try #require(output["results"]?["tok_petr"]?.arrayValue).compactMap { $0["detection_name"]?.stringValue }
        // The traffic cone 35 m out (30 m range) is gone; the car 44 m out (50 m range) stays.
        #expect(names == ["car", "pedestrian", "bus", "car", "bicycle", "barrier"])
    }

    @Test("exports refuse what they cannot write")
    func refusals() throws {
        let petr = try Fixture.plugin("PETR").parse(rawJSON: Fixture.bytes("petr_typical.json"))
        #expect(throws: PluginError(.invalidCalibration, "no calibration for sample token 'tok_petr'")) {
            _ = try NuScenesExport.submission([petr], calibration: [:])
        }
        #expect(throws: PluginError(.unsupportedExport, "the nuscmap format needs map elements; model PETR gives none")) {
            _ = try NuScenesMapExport.submission([petr])
        }
        let topo = try Fixture.plugin("TopoMLP").parse(rawJSON: Fixture.bytes("topomlp_typical.json"))
        #expect(throws: PluginError(.unsupportedExport, "the OpenLane-V2 format needs the dense topology matrices: parse with dense topology on")) {
            _ = try OpenLaneExport.submission([topo])
        }
        var unkeyed = try Fixture.plugin("TopoMLP").parse(rawJSON: Fixture.bytes("topomlp_typical.json"), options: ParseOptions(denseTopology: true))
        unkeyed.meta.sampleID = "frame-1"
        #expect(throws: PluginError.self) { _ = try OpenLaneExport.submission([unkeyed]) }
        #expect(throws: PluginError.self) { _ = try ExportFormat.nuscenes.render([petr]) }
    }

    @Test("calibration errors name the token and key")
    func calibrationErrors() throws {
        let bad = try JSONReader.parse(#"{"t1": {"lidar2ego_rotation": [1, 0, 0], "lidar2ego_translation": [0, 0, 0], "ego2global_rotation": [1, 0, 0, 0], "ego2global_translation": [0, 0, 0]}}"#)
        #expect(throws: PluginError(.invalidCalibration, "calibration: key 't1.lidar2ego_rotation': expected 4 finite numbers")) {
            _ = try SampleCalibration.readSet(bad)
        }
        let unnormalised = try JSONReader.parse(#"{"t1": {"lidar2ego_rotation": [2, 0, 0, 0], "lidar2ego_translation": [0, 0, 0], "ego2global_rotation": [1, 0, 0, 0], "ego2global_translation": [0, 0, 0]}}"#)
        #expect(throws: PluginError.self) { _ = try SampleCalibration.readSet(unnormalised) }
    }
}

@Suite("JSON reader and writer")
struct JSONTests {
    @Test("Python's NaN and Infinity are read; positions are reported")
    func pythonLiterals() throws {
        let value = try JSONReader.parse(#"{"a": [NaN, Infinity, -Infinity, -1.5e3, "\u00e9\n"]}"#)
        let items = try #require(value["a"]?.arrayValue)
        #expect(items[0].numberValue?.isNaN == true)
        #expect(items[1].numberValue == .infinity && items[2].numberValue == -.infinity)
        #expect(items[3].numberValue == -1500)
        #expect(items[4].stringValue == "é\n")
        #expect(throws: PluginError(.malformedJSON, "input: invalid JSON at byte 6: expected ',' or ']'")) {
            _ = try JSONReader.parse("[1, 2 3]")
        }
        #expect(throws: PluginError(.malformedJSON, "input: truncated JSON: the document ends at byte 6 before it is complete")) {
            _ = try JSONReader.parse(#"{"a": "#)
        }
    }

    @Test("the writer round-trips and refuses NaN")
    func writer() throws {
        let value = JSONValue.object([("b", .array([.number(0.1), .number(3), .number(-2.5e-7)])), ("a", .string("q\"\n"))])
        let bytes = try JSONWriter.write(value)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"b":[0.1,3,-2.5e-07],"a":"q\"\n"}"#)
        #expect(try JSONReader.parse(bytes) == value)
        #expect(throws: PluginError.self) { _ = try JSONWriter.write(.number(.nan)) }
    }

    @Test("numbers are written in description's shortest round-trip digits, integral ones as integers")
    func numbers() throws {
        var generator = SystemRandomNumberGenerator()
        let special: [Double] = [
            0, -0.0, 1, -1, 0.1, 1e-7, 1e15, 1e15 - 1, -1e15 + 1, 1e16, 1e21, 1e22, 123456789012345.6, .leastNonzeroMagnitude,
            .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0.30000001192092896, 9007199254740993,
        ]
        let random = (0..<20000).map { index -> Double in
            let bits = UInt64.random(in: 0...UInt64.max, using: &generator)
            let value = index % 2 == 0 ? Double(bitPattern: bits) : Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
            return value.isFinite ? value : 0.5
        }
        for value in special + random {
            var out: [UInt8] = []
            JSONWriter.appendNumber(value, to: &out)
            let text = String(decoding: out, as: UTF8.self)
            let integral = abs(value) < 1e15 && value == value.rounded()
            #expect(text == (integral ? String(Int64(value)) : value.description), "\(value.bitPattern)")
            #expect(Double(text) == value || (value == 0 && Double(text) == 0))
        }
        var out: [UInt8] = []
        JSONWriter.appendInteger(.min, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(Int64.min))
    }
}
