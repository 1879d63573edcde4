import Foundation
import Testing
@testable import Plugins

/// The flat point lists stand in for nested arrays: on the wire they must be those arrays, byte for byte.
@Suite("Flat point lists")
struct PointListTests {
    /// Numbers whose text is easy to get wrong: float32 values read as doubles, integral values, -0, tiny and huge.
    static let awkward: [Double] = [
        0, -0.0, 1, -2.5, 0.1, Double(Float(0.1)), Double(Float(-37.123456)), 1e-7, 123456789.125, 5e-324, 1.7976931348623157e308,
        Double(Float(3.4028235e38)), 1 / 3, -2 / 3,
    ]

    struct Nested: Codable { var points: [[Double]]; var lists: [[[Double]]] }
    struct Flat: Codable { var points: PointList; var lists: PointLists }

    static func encoded(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    static func nested(dimension: Int, points: Int, seed: Int) -> [[Double]] {
        (0..<points).map { point in (0..<dimension).map { awkward[(seed + point * dimension + $0) % awkward.count] } }
    }

    @Test("JSONEncoder writes a flat list byte for byte as the nested arrays it replaces", arguments: [(2, 0), (2, 1), (2, 20), (3, 11), (1, 5)])
    func encodingMatchesNested(dimension: Int, points: Int) throws {
        let rows = Self.nested(dimension: dimension, points: points, seed: points)
        let lists = (0..<6).map { Self.nested(dimension: dimension, points: points, seed: $0) }
        let flat = Flat(points: try PointList(rows: rows), lists: try PointLists(rows: lists))
        #expect(try Self.encoded(flat) == Self.encoded(Nested(points: rows, lists: lists)))
        // And back: the same values, the same nested arrays.
        let decoded = try JSONDecoder().decode(Flat.self, from: Self.encoded(flat))
        #expect(decoded.points == flat.points && decoded.lists == flat.lists)
        #expect(decoded.points.rows == rows && decoded.lists.rows == lists)
    }

    @Test("the result writer writes a VAD result's flat lists as JSONEncoder writes the nested arrays, to the byte")
    func writerMatchesNestedEncoding() throws {
        let plugin = try Fixture.plugin("VAD")
        let result = try plugin.parse(rawJSON: Fixture.bytes("vad_typical.json"), options: ParseOptions(sampleID: "s"))
        let detection = try #require(result.detections?.first)
        let element = try #require(result.mapElements?.first)
        let plan = try #require(result.egoPlan)
        var mirror = StandardResult(meta: result.meta)
        mirror.detections = [detection]
        mirror.mapElements = [element]
        mirror.egoPlan = plan
        let text = String(decoding: try mirror.jsonBytes(), as: UTF8.self)
        // Each list as the writer's own number format writes it, nested the old way.
        func nested(_ rows: [[Double]]) -> String {
            var out: [UInt8] = []
            for (index, row) in rows.enumerated() {
                out += Array((index == 0 ? "[" : ",").utf8) + [UInt8(ascii: "[")]
                for (position, value) in row.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    JSONWriter.appendNumber(value, to: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
            return String(decoding: rows.isEmpty ? Array("[]".utf8) : out + [UInt8(ascii: "]")], as: UTF8.self)
        }
        let trajectories = try #require(detection.trajectoriesLidar)
        let modes = "[" + trajectories.rows.map(nested).joined(separator: ",") + "]"
        #expect(text.contains(#""trajectories_lidar":"# + modes + ","))
        #expect(text.contains(#""polyline_lidar":"# + nested(element.polylineLidar.rows) + ","))
        #expect(text.contains(#""trajectory_lidar":"# + nested(plan.trajectoryLidar.rows) + "}"))
        #expect(trajectories.count == 6 && trajectories.pointsPerList == 6 && element.polylineLidar.count == 20)
    }

    @Test("points are read zero-indexed, also from a list that is a slice of a larger buffer")
    func zeroIndexedAccess() throws {
        let lists = PointLists(lists: 3, pointsPerList: 2, dimension: 2, coordinates: (0..<12).map(Double.init))
        let second = lists[1]
        #expect(second.count == 2 && second.dimension == 2)
        #expect(second[0][0] == 4 && second[0][1] == 5 && second[1][0] == 6 && second[1][1] == 7)
        #expect(second[1] == [6, 7] && Array(second[1]) == [6, 7])
        #expect(second.rows == [[4, 5], [6, 7]])
        let slice = PointList(dimension: 3, coordinates: (0..<9).map(Double.init)[3...])
        #expect(slice.count == 2 && slice[0] == [3, 4, 5] && slice.last == [6, 7, 8])
        #expect(lists.rows == [[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[8, 9], [10, 11]]])
    }

    @Test("equal exactly when the nested arrays are")
    func equality() throws {
        let a: PointList = [[1, 2], [3, 4]]
        #expect(a == (try PointList(rows: [[1, 2], [3, 4]])))
        #expect(a != PointList(dimension: 4, coordinates: [1, 2, 3, 4]))
        #expect(a != [[1, 2], [3, 5]])
        // An empty list decoded from [] knows no dimension; it still equals an empty 2-D list.
        #expect(PointList(dimension: 2, coordinates: []) == (try PointList(rows: [])))
        let empty = try JSONDecoder().decode(PointList.self, from: Data("[]".utf8))
        #expect(empty.isEmpty && empty == PointList(dimension: 3, coordinates: []))
        #expect(PointLists(lists: 2, pointsPerList: 0, dimension: 2, coordinates: []) == (try PointLists(rows: [[], []])))
        #expect(PointLists(lists: 2, pointsPerList: 0, dimension: 2, coordinates: []) != (try PointLists(rows: [[]])))
        #expect(PointLists(lists: 1, pointsPerList: 2, dimension: 1, coordinates: [1, 2]) != PointLists(lists: 1, pointsPerList: 1, dimension: 2, coordinates: [1, 2]))
    }

    @Test("ragged or empty points are refused with the point they are about")
    func raggedRows() {
        #expect(throws: PluginError(.wrongShape, "ragged point list: point 2 has 3 numbers, point 0 has 2")) {
            try PointList(rows: [[1, 2], [3, 4], [5, 6, 7]])
        }
        #expect(throws: PluginError(.wrongShape, "point 0 has no coordinates")) { try PointList(rows: [[], []]) }
        #expect(throws: PluginError(.wrongShape, "ragged point lists: list 1 has 1 points, list 0 has 2")) {
            try PointLists(rows: [[[1, 2], [3, 4]], [[5, 6]]])
        }
        #expect(throws: PluginError(.wrongShape, "ragged point lists: list 1, point 0 has 1 numbers, list 0's points have 2")) {
            try PointLists(rows: [[[1, 2]], [[5]]])
        }
        #expect(throws: PluginError(.wrongShape, "list 0, point 0 has no coordinates")) { try PointLists(rows: [[[]]]) }
    }

    /// A VAD result as JSON with one field replaced by `replacement`.
    static func hostile(_ field: String, _ replacement: String) throws -> Data {
        let plugin = try Fixture.plugin("VAD")
        let result = try plugin.parse(rawJSON: Fixture.bytes("vad_typical.json"), options: ParseOptions(sampleID: "s"))
        var object = try #require(try JSONSerialization.jsonObject(with: Data(try result.jsonBytes())) as? [String: Any])
        let value = try #require(JSONSerialization.jsonObject(with: Data(replacement.utf8), options: .fragmentsAllowed) as Any?)
        switch field {
        case "map_elements[1].polyline_lidar":
            var elements = try #require(object["map_elements"] as? [[String: Any]])
            elements[1]["polyline_lidar"] = value
            object["map_elements"] = elements
        case "detections[2].trajectories_lidar":
            var detections = try #require(object["detections"] as? [[String: Any]])
            detections[2]["trajectories_lidar"] = value
            object["detections"] = detections
        case "ego_plan.candidates[0].trajectory_lidar":
            var plan = try #require(object["ego_plan"] as? [String: Any])
            var candidates = try #require(plan["candidates"] as? [[String: Any]])
            candidates[0]["trajectory_lidar"] = value
            plan["candidates"] = candidates
            object["ego_plan"] = plan
        default:
            Issue.record("no such field \(field)")
        }
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test("decoding a result with a ragged point list names the field and the point", arguments: [
        ("map_elements[1].polyline_lidar", "[[1, 2], [3]]", "ragged point list: point 1 has 1 numbers, point 0 has 2"),
        ("map_elements[1].polyline_lidar", "[[]]", "point 0 has no coordinates"),
        ("detections[2].trajectories_lidar", "[[[1, 2], [3, 4]], [[5, 6]]]", "ragged point lists: list 1 has 1 points, list 0 has 2"),
        ("detections[2].trajectories_lidar", "[[[1, 2]], [[5, 6, 7]]]", "ragged point lists: list 1, point 0 has 3 numbers, list 0's points have 2"),
        ("ego_plan.candidates[0].trajectory_lidar", "[[1, 2], [3, 4, 5]]", "ragged point list: point 1 has 3 numbers, point 0 has 2"),
    ])
    func hostileDecoding(field: String, replacement: String, problem: String) throws {
        let data = try Self.hostile(field, replacement)
        #expect(throws: PluginError(.malformedJSON, "not a standard result: \(field): \(problem)")) {
            try StandardResult.decode(data)
        }
    }

    @Test("a point list that is not lists of numbers is a type error at its place")
    func notNumbers() throws {
        let data = try Self.hostile("map_elements[1].polyline_lidar", #"[[1, "two"]]"#)
        let error = #expect(throws: PluginError.self) { try StandardResult.decode(data) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.message.hasPrefix("not a standard result: map_elements[1].polyline_lidar[0][1]: ") == true, "\(error?.message ?? "")")
    }
}
