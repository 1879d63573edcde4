import Foundation
import Testing
@testable import Plugins

@Suite("Parsers: every model, every kind of input")
struct ParserTests {
    static let models = ["maptr", "petr", "streampetr", "topomlp", "vad"]
    static let names = ["maptr": "MapTR", "petr": "PETR", "streampetr": "StreamPETR", "topomlp": "TopoMLP", "vad": "VAD"]

    func parse(_ model: String, _ variant: String, options: ParseOptions = ParseOptions()) throws -> StandardResult {
        let plugin = try Fixture.plugin(Self.names[model] ?? model)
        return try plugin.parse(rawJSON: Fixture.bytes("\(model)_\(variant).json"), options: options)
    }

    /// How many items a result holds, over every section the model fills.
    func itemCount(_ result: StandardResult) -> Int {
        (result.detections?.count ?? 0) + (result.mapElements?.count ?? 0) + (result.laneCenterlines?.count ?? 0)
            + (result.trafficElements?.count ?? 0)
    }

    @Test("typical output parses with meta filled in", arguments: models)
    func typical(model: String) throws {
        let result = try parse(model, "typical")
        #expect(result.schemaVersion == "1.0")
        #expect(result.meta.model == Self.names[model])
        #expect(result.meta.sampleID != nil)
        #expect(result.meta.timingsSeconds["parse"] != nil)
        #expect(result.meta.warnings.isEmpty)
        let expected = ["maptr": 5, "petr": 7, "streampetr": 7, "topomlp": 8, "vad": 10]
        #expect(itemCount(result) == expected[model])
    }

    @Test("zero detections give empty sections, not missing ones", arguments: models)
    func zero(model: String) throws {
        let result = try parse(model, "zero")
        #expect(itemCount(result) == 0)
        switch model {
        case "maptr": #expect(result.mapElements == [])
        case "topomlp": #expect(result.laneCenterlines == [] && result.trafficElements == [] && result.topology?.laneLane == [])
        case "vad": #expect(result.detections == [] && result.mapElements == [] && result.egoPlan != nil)
        default: #expect(result.detections == [])
        }
    }

    @Test("everything below the threshold leaves nothing (but VAD's map, which VAD never thresholds)", arguments: models)
    func allBelowThreshold(model: String) throws {
        let result = try parse(model, "low", options: ParseOptions(scoreThreshold: 0.3))
        // VAD keeps every map vector (nuscenes_vad_dataset.py l.1483 thresholds boxes only).
        #expect(itemCount(result) == (model == "vad" ? 3 : 0))
        if model == "vad" { #expect(result.detections == [] && result.mapElements?.count == 3) }
        #expect(result.meta.scoreThreshold == 0.3)
        // The same input with no threshold keeps everything: the filter, not the parse, removed them.
        let all = try parse(model, "low", options: ParseOptions(scoreThreshold: 0))
        #expect(itemCount(all) > 0)
    }

    @Test("a NaN score is dropped with a warning naming the key", arguments: models)
    func nanScore(model: String) throws {
        let typical = try parse(model, "typical", options: ParseOptions(scoreThreshold: 0))
        let result = try parse(model, "nan", options: ParseOptions(scoreThreshold: 0))
        #expect(itemCount(result) == itemCount(typical) - 1)
        #expect(result.meta.warnings.count == 1)
        let key = model == "topomlp" ? "pred_lc[1]" : "pts_bbox.scores_3d"
        #expect(result.meta.warnings.first?.contains("non-finite score in '\(key)'") == true)
    }

    @Test("null (how the worker runtime writes NaN) is read as NaN: a null score drops the item, a null coordinate is refused")
    func nullAsNaN() throws {
        let plugin = try Fixture.plugin("PETR")
        let result = try plugin.parse(raw: JSONReader.parse(
            #"[{"pts_bbox": {"boxes_3d": [[0,0,0,1,1,1,0,0,0],[1,1,0,1,1,1,0,0,0]], "scores_3d": [null, 0.5], "labels_3d": [1, 2]}}]"#))
        #expect(result.detections?.map(\.label) == ["construction_vehicle"])
        #expect(result.meta.warnings == ["1 detection(s) with a non-finite score in 'pts_bbox.scores_3d' were dropped"])
        #expect(throws: PluginError(.invalidValue, "key 'pts_bbox.boxes_3d'[0]: non-finite value nan")) {
            _ = try plugin.parse(raw: JSONReader.parse(#"{"pts_bbox": {"boxes_3d": [[0,null,0,1,1,1,0,0,0]], "scores_3d": [0.5], "labels_3d": [1]}}"#))
        }
    }

    @Test("wrong shapes name the key, the expected and the actual shape", arguments: [
        ("petr", "key 'pts_bbox.boxes_3d': expected shape (N,9), got shape (7,7)"),
        ("streampetr", "key 'pts_bbox.labels_3d': expected 7 rows to match 'pts_bbox.boxes_3d', got shape (3,)"),
        ("maptr", "key 'pts_bbox.pts_3d': expected shape (N,P,2), got shape (5,20,3)"),
        ("vad", "key 'pts_bbox.trajs_3d': expected shape (N,6,12), got shape (8,6,6,2)"),
        ("topomlp", "key 'pred_topology_lclc': expected shape (5,5), got shape (5,4)"),
    ])
    func wrongShape(model: String, message: String) throws {
        #expect(throws: PluginError(.wrongShape, message)) {
            _ = try parse(model, "wrong_shape")
        }
    }

    @Test("truncated JSON is a malformed-JSON error, never a partial result", arguments: models)
    func truncated(model: String) throws {
        #expect {
            _ = try parse(model, "truncated")
        } throws: { error in
            guard let error = error as? PluginError else { return false }
            return error.code == .malformedJSON && error.message.contains("truncated JSON")
        }
    }

    @Test("a missing key is named")
    func missingKey() throws {
        let plugin = try Fixture.plugin("PETR")
        #expect(throws: PluginError(.missingKey, "key 'pts_bbox.scores_3d' is missing")) {
            _ = try plugin.parse(raw: JSONReader.parse(#"{"pts_bbox": {"boxes_3d": [], "labels_3d": []}}"#))
        }
        #expect(throws: PluginError(.missingKey, "key 'pts_bbox' is missing")) {
            _ = try plugin.parse(raw: JSONReader.parse(#"{"boxes_3d": []}"#))
        }
    }

    @Test("a label outside the class list and a NaN coordinate are refused")
    func badValues() throws {
        let plugin = try Fixture.plugin("PETR")
        #expect(throws: PluginError(.invalidValue, "key 'pts_bbox.labels_3d'[0]: label 10.0 is not an index into the 10 classes")) {
            _ = try plugin.parse(raw: JSONReader.parse(#"{"pts_bbox": {"boxes_3d": [[0,0,0,1,1,1,0,0,0]], "scores_3d": [0.5], "labels_3d": [10]}}"#))
        }
        #expect(throws: PluginError(.invalidValue, "key 'pts_bbox.boxes_3d'[0]: non-finite value nan")) {
            _ = try plugin.parse(raw: JSONReader.parse(#"{"pts_bbox": {"boxes_3d": [[NaN,0,0,1,1,1,0,0,0]], "scores_3d": [0.5], "labels_3d": [1]}}"#))
        }
        #expect(throws: PluginError(.wrongShape, "key 'pts_bbox.scores_3d': element [1] is a string, expected a number (shape (N))")) {
            _ = try plugin.parse(raw: JSONReader.parse(#"{"pts_bbox": {"boxes_3d": [[0,0,0,1,1,1,0,0,0],[0,0,0,1,1,1,0,0,0]], "scores_3d": [0.5, "x"], "labels_3d": [1, 1]}}"#))
        }
    }

    @Test("MapTR: one query present twice with two labels keeps both")
    func mapTRDuplicateQuery() throws {
        let result = try parse("maptr", "typical")
        let elements = try #require(result.mapElements)
        #expect(elements[1].polylineLidar == elements[3].polylineLidar)
        #expect(elements[1].label == "ped_crossing" && elements[3].label == "boundary")
        #expect(elements[1].polylineLidar.count == 20)
        #expect(elements[1].polylineLidar.first == [-3, 5] && elements[1].polylineLidar.last == [3, 5])
    }

    @Test("a list of several samples is parsed one result per sample")
    func severalSamples() throws {
        let plugin = try Fixture.plugin("PETR")
        let one = try Fixture.json("petr_typical.json")
        let results = try plugin.parseAll(raw: .array([one, one]))
        #expect(results.count == 2)
        #expect(results.map(\.meta.sampleID) == ["tok_petr", "tok_petr"])
        #expect(throws: PluginError.self) { _ = try plugin.parse(raw: .array([one, one])) }
    }

    @Test("include_raw keeps the raw output; NaN becomes null when encoded")
    func includeRaw() throws {
        let result = try parse("petr", "nan", options: ParseOptions(includeRaw: true))
        let raw = try #require(result.raw)
        #expect(raw == (try Fixture.json("petr_nan.json")))
        let text = String(decoding: try result.jsonData(), as: UTF8.self)
        #expect(text.contains("\"scores_3d\":[null,0.81"))
        #expect(try parse("petr", "typical").raw == nil)
    }
}
