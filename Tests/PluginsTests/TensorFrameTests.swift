import Foundation
import Testing
@testable import Plugins

/// Bytes in memory as a frame source (the agent reads the worker's pipe the same way).
struct MemorySource: TensorByteSource {
    var bytes: [UInt8]
    var position = 0

    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(PluginError) {
        guard bytes.count - position >= buffer.count else {
            throw PluginError(.malformedFrame, "the output ended after \(bytes.count - position) of its \(buffer.count) bytes")
        }
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress, let target = buffer.baseAddress {
                target.copyMemory(from: base + position, byteCount: buffer.count)
            }
        }
        position += buffer.count
    }
}

/// A raw output in the binary form, made the way the worker runtime makes it: every rectangular
/// list of numbers (rank >= 1) becomes a frame and its place holds null. Labels go as int64, the
/// rest as float64 (exactly the JSON's values) or, with `float32`, as float32.
struct BinaryForm {
    var raw: JSONValue
    var headers: JSONValue
    var bytes: [UInt8]

    init(_ value: JSONValue, float32: Bool = false) {
        var frames: [JSONValue] = []
        var bytes: [UInt8] = []
        func shape(_ value: JSONValue) -> [Int]? {
            switch value {
            case .number, .null: return []
            case .array(let items):
                guard let first = items.first else { return [0] }
                guard let inner = shape(first) else { return nil }
                for item in items.dropFirst() where shape(item) != inner { return nil }
                return [items.count] + inner
            default: return nil
            }
        }
        func leaves(_ value: JSONValue, into out: inout [Double]) {
            switch value {
            case .number(let number): out.append(number)
            case .null: out.append(.nan)
            case .array(let items): for item in items { leaves(item, into: &out) }
            default: break
            }
        }
        func walk(_ value: JSONValue, path: [JSONValue], key: String) -> JSONValue {
            // TopoMLP's pred_lc and pred_te are Python lists of two tensors, not one tensor.
            let isPair = (key == "pred_lc" || key == "pred_te") && path.last == .string(key)
            if !isPair, case .array = value, let dims = shape(value), !dims.isEmpty {
                var values: [Double] = []
                leaves(value, into: &values)
                let isLabel = key.hasSuffix("labels_3d")
                let dtype = isLabel ? "int64" : float32 ? "float32" : "float64"
                let start = bytes.count
                if isLabel {
                    Array(values.map { Int64($0) }).withUnsafeBytes { bytes += $0 }
                } else if float32 {
                    Array(values.map { Float($0) }).withUnsafeBytes { bytes += $0 }
                } else {
                    values.withUnsafeBytes { bytes += $0 }
                }
                frames.append(.object([
                    ("path", .array(path)), ("dtype", .string(dtype)), ("shape", .array(dims.map { .number(Double($0)) })),
                    ("bytes", .number(Double(bytes.count - start))),
                ]))
                return .null
            }
            switch value {
            case .object(let members):
                return .object(members.map { ($0.0, walk($0.1, path: path + [.string($0.0)], key: $0.0)) })
            case .array(let items):
                return .array(items.enumerated().map { walk($0.element, path: path + [.number(Double($0.offset))], key: key) })
            default:
                return value
            }
        }
        self.raw = walk(value, path: [], key: "")
        self.headers = .array(frames)
        self.bytes = bytes
    }

    /// What the agent makes of it: headers checked, frames read into typed buffers, placed in `raw`.
    func decoded(limit: Int = 1 << 30) throws(PluginError) -> JSONValue {
        let frames = try TensorFrame.headers(headers, limit: limit)
        var source = MemorySource(bytes: bytes)
        var tensors: [(frame: TensorFrame, tensor: Tensor)] = []
        for frame in frames { tensors.append((frame, try Tensor.read(frame, from: &source))) }
        guard source.position == bytes.count else { throw PluginError(.malformedFrame, "\(bytes.count - source.position) bytes left over") }
        return try raw.placing(tensors)
    }

    /// The JSON's tensors rounded to float32 (labels and scalars kept), as `tolist()` of float32 tensors gives them.
    static func roundedToFloat32(_ value: JSONValue, key: String = "", inList: Bool = false) -> JSONValue {
        switch value {
        case .number(let number) where inList && !key.hasSuffix("labels_3d"): return .number(Double(Float(number)))
        case .object(let members): return .object(members.map { ($0.0, roundedToFloat32($0.1, key: $0.0)) })
        case .array(let items): return .array(items.map { roundedToFloat32($0, key: key, inList: true) })
        default: return value
        }
    }
}

@Suite("Tensor frames: headers, typed reading, placing, hostile frames")
struct TensorFrameTests {
    static func header(_ text: String) throws -> JSONValue { try JSONReader.parse("[\(text)]") }

    @Test("a float32 frame is read into float32 storage, exactly, in one piece")
    func float32Frame() throws {
        let values: [Float] = [0.1, -2.5, .nan, .infinity, 3e-7, 1e30]
        var bytes: [UInt8] = []
        values.withUnsafeBytes { bytes += $0 }
        let frames = try TensorFrame.headers(try Self.header(#"{"path": ["a", 0], "dtype": "float32", "shape": [2, 3], "bytes": 24}"#), limit: 100)
        #expect(frames == [TensorFrame(path: [.key("a"), .index(0)], dtype: .float32, shape: [2, 3], byteCount: 24)])
        #expect(frames[0].place == "raw.a[0]")
        var source = MemorySource(bytes: bytes)
        let tensor = try Tensor.read(frames[0], from: &source)
        guard case .float32(let stored) = tensor.storage else { Issue.record("not float32 storage: \(tensor.dtype)"); return }
        #expect(stored.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(tensor.shape == [2, 3] && tensor.count == 2 && tensor.elementCount == 6)
        #expect(tensor[1, 1] == Double(Float(3e-7)))
        #expect(Array(tensor.row(0)).map { $0.isNaN ? -1 : $0 } == [Double(Float(0.1)), -2.5, -1])
        #expect(tensor.withUnsafeBytes { Array($0) } == bytes)  // the buffer as it came: sendable on as it is
    }

    @Test("each dtype reads its values; bool is nonzero; labels stay integers")
    func dtypes() throws {
        var bytes: [UInt8] = []
        [Double(1.5), -0.25].withUnsafeBytes { bytes += $0 }
        [Int32(-7), 9].withUnsafeBytes { bytes += $0 }
        [Int64(1) << 40, 3].withUnsafeBytes { bytes += $0 }
        bytes += [0, 255]  // uint8
        bytes += [0, 2]  // bool: anything nonzero is true
        let headers = try Self.header("""
            {"path": [0], "dtype": "float64", "shape": [2], "bytes": 16}, {"path": [1], "dtype": "int32", "shape": [2], "bytes": 8},
            {"path": [2], "dtype": "int64", "shape": [2], "bytes": 16}, {"path": [3], "dtype": "uint8", "shape": [2], "bytes": 2},
            {"path": [4], "dtype": "bool", "shape": [2], "bytes": 2}
            """)
        let raw = BinaryForm(raw: try JSONReader.parse("[null, null, null, null, null]"), headers: headers, bytes: bytes)
        let decoded = try raw.decoded()
        let expected = try JSONReader.parse("[[1.5, -0.25], [-7, 9], [1099511627776, 3], [0, 255], [false, true]]")
        #expect(decoded == expected)
        #expect(String(decoding: try JSONWriter.write(decoded), as: UTF8.self) == "[[1.5,-0.25],[-7,9],[1099511627776,3],[0,255],[false,true]]")
        guard case .array(let items) = decoded, case .tensor(let labels) = items[2] else { Issue.record("no tensors placed"); return }
        #expect(labels.dtype == .int64 && labels.dtype.oipName == "INT64")
    }

    @Test("hostile headers are errors naming the frame and the problem, before any byte is read", arguments: [
        (#""frames""#, "'frames' must be a list of frame headers, got a string"),
        (#"[7]"#, "frame 0: a header must be an object {path, dtype, shape, bytes}, got a number"),
        (#"[{"path": "a", "dtype": "float32", "shape": [1], "bytes": 4}]"#, "frame 0: 'path' must be a list of keys and indices"),
        (#"[{"path": [-1], "dtype": "float32", "shape": [1], "bytes": 4}]"#, "frame 0: 'path' steps must be keys (strings) or list indices (non-negative integers), got a number"),
        (#"[{"path": ["a"], "dtype": "float16", "shape": [1], "bytes": 2}]"#, "frame 0 (raw.a): unknown dtype 'float16' (known: float32, float64, int32, int64, uint8, bool)"),
        (#"[{"path": ["a"], "shape": [1], "bytes": 4}]"#, "frame 0 (raw.a): 'dtype' must be a string"),
        (#"[{"path": ["a"], "dtype": "float32", "shape": [2, 3], "bytes": 20}]"#, "frame 0 (raw.a): 20 bytes do not hold a float32 tensor of shape (2,3) (24 bytes)"),
        (#"[{"path": ["a"], "dtype": "float32", "shape": [-1], "bytes": 4}]"#, "frame 0 (raw.a): 'shape' sizes must be non-negative integers, got -1.0"),
        (#"[{"path": ["a"], "dtype": "float32", "shape": [1.5], "bytes": 6}]"#, "frame 0 (raw.a): 'shape' sizes must be non-negative integers, got 1.5"),
        (#"[{"path": ["a"], "dtype": "float32", "shape": [1], "bytes": -4}]"#, "frame 0 (raw.a): 'bytes' must be a non-negative integer"),
        (#"[{"path": ["a"], "dtype": "float32", "shape": [1099511627776, 1099511627776], "bytes": 4}]"#, "frame 0 (raw.a): shape (1099511627776,1099511627776) has more elements than this machine can count"),
        (#"[{"path": ["a"], "dtype": "float64", "shape": [1152921504606846976], "bytes": 4}]"#, "frame 0 (raw.a): 4 bytes do not hold a float64 tensor of shape (1152921504606846976,) (overflow bytes)"),
        (#"[{"path": ["a"], "dtype": "float32", "shape": [1073741824], "bytes": 4294967296}]"#, "frames 0...0 declare 4294967296 bytes, more than the 1000000-byte limit of one answer"),
        (#"[{"path": ["a"], "dtype": "uint8", "shape": [600000], "bytes": 600000}, {"path": ["b"], "dtype": "uint8", "shape": [600000], "bytes": 600000}]"#, "frames 0...1 declare 1200000 bytes, more than the 1000000-byte limit of one answer"),
    ])
    func hostileHeaders(text: String, message: String) throws {
        let value = try JSONReader.parse(text)
        #expect(throws: PluginError(.malformedFrame, message)) { _ = try TensorFrame.headers(value, limit: 1_000_000) }
    }

    @Test("too many axes or frames are refused")
    func tooMany() throws {
        let axes = Array(repeating: "1", count: 65).joined(separator: ",")
        #expect(throws: PluginError(.malformedFrame, "frame 0 (raw.a): 'shape' has 65 axes, more than 64")) {
            _ = try TensorFrame.headers(try Self.header(#"{"path": ["a"], "dtype": "uint8", "shape": [\#(axes)], "bytes": 1}"#), limit: 10)
        }
        let many = JSONValue.array(Array(repeating: .object([]), count: TensorFrame.maxFrames + 1))
        #expect(throws: PluginError(.malformedFrame, "'frames' declares 65537 frames, more than the 65536 one answer may carry")) {
            _ = try TensorFrame.headers(many, limit: 10)
        }
    }

    @Test("a truncated frame is an error saying how much came")
    func truncated() throws {
        let frames = try TensorFrame.headers(try Self.header(#"{"path": [], "dtype": "float64", "shape": [4], "bytes": 32}"#), limit: 100)
        var source = MemorySource(bytes: [UInt8](repeating: 0, count: 20))
        #expect(throws: PluginError(.malformedFrame, "the output ended after 20 of its 32 bytes")) { _ = try Tensor.read(frames[0], from: &source) }
    }

    @Test("a frame's place must be a null placeholder the answer has, once", arguments: [
        (#"{"x": 5}"#, #"["x"]"#, "frame 0: raw.x holds a number, not the null a frame replaces"),
        (#"{"x": null}"#, #"["y"]"#, "frame 0: raw.y: the answer has no member 'y' there"),
        (#"{"x": [null]}"#, #"["x", 1]"#, "frame 0: raw.x[1]: index 1 is past the list's 1 items"),
        (#"{"x": [null]}"#, #"[0]"#, "frame 0: raw[0]: step [0] meets an object"),
        (#"{"x": null}"#, #"["x", "y"]"#, "frame 0: raw.x.y: step .y meets null"),
    ])
    func placing(raw: String, path: String, message: String) throws {
        let headers = try Self.header(#"{"path": \#(path), "dtype": "uint8", "shape": [1], "bytes": 1}"#)
        let form = BinaryForm(raw: try JSONReader.parse(raw), headers: headers, bytes: [1])
        #expect(throws: PluginError(.malformedFrame, message)) { _ = try form.decoded() }
    }

    @Test("two frames for one place: the second finds a tensor there, not null")
    func duplicatePlace() throws {
        let headers = try Self.header(#"{"path": ["x"], "dtype": "uint8", "shape": [1], "bytes": 1}, {"path": ["x"], "dtype": "uint8", "shape": [1], "bytes": 1}"#)
        let form = BinaryForm(raw: try JSONReader.parse(#"{"x": null}"#), headers: headers, bytes: [1, 2])
        #expect(throws: PluginError(.malformedFrame, "frame 1: raw.x holds a uint8 tensor of shape (1,), not the null a frame replaces")) { _ = try form.decoded() }
    }

    @Test("a frame of the wrong shape names the key like a JSON list does; zero rows fit any rank")
    func shapes() throws {
        let tensor = try Tensor(shape: [3, 8], storage: .float32(Array(repeating: 0, count: 24)))
        #expect(throws: PluginError(.wrongShape, "key 'pts_bbox.boxes_3d': expected shape (N,9), got shape (3,8)")) {
            _ = try Tensor.read(.tensor(tensor), key: "pts_bbox.boxes_3d", expected: [.any("N"), .fixed(9)])
        }
        let empty = try Tensor(shape: [0], storage: .float32([]))
        #expect(try Tensor.read(.tensor(empty), key: "k", expected: [.any("N"), .fixed(9)]).shape == [0, 9])
        // A list of per-row frames reads as one tensor, as its lists would.
        let row = try Tensor(shape: [2], storage: .float32([1, 2]))
        let stacked = try Tensor.read(.array([.tensor(row), .tensor(row)]), key: "k", expected: [.any("N"), .fixed(2)])
        #expect(stacked.shape == [2, 2] && stacked.doubles == [1, 2, 1, 2])
        #expect(throws: PluginError(.wrongShape, "key 'k': element [1] is a tensor of shape (3,), expected (2,) (shape (N,2))")) {
            _ = try Tensor.read(.array([.tensor(row), .tensor(try Tensor(shape: [3], storage: .float32([1, 2, 3])))]), key: "k", expected: [.any("N"), .fixed(2)])
        }
        #expect(throws: PluginError(.wrongShape, "a tensor of shape (2,3) holds 6 elements, the storage 5")) {
            _ = try Tensor(shape: [2, 3], storage: .float64([1, 2, 3, 4, 5]))
        }
    }
}

extension BinaryForm {
    init(raw: JSONValue, headers: JSONValue, bytes: [UInt8]) {
        self.raw = raw
        self.headers = headers
        self.bytes = bytes
    }
}

/// The same raw output as JSON and as tensor frames must give the same standard result, for every
/// model's format, including NaN and infinite scores and coordinates (docs/worker-protocol.md).
@Suite("Parsers: the JSON and the binary form of one raw output give one result")
struct BinaryFormParserTests {
    static let cases: [(String, String)] = ParserTests.models.flatMap { model in
        ["typical", "zero", "low", "nan"].map { (model, $0) }
    }

    static func standard(_ result: StandardResult) throws -> String {
        var result = result
        result.meta.timingsSeconds = [:]
        return String(decoding: try result.jsonBytes(), as: UTF8.self)
    }

    /// Where two documents first differ (60 bytes either side), nil when they are the same.
    static func firstDifference(_ a: String, _ b: String) -> String? {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard let index = (0..<min(x.count, y.count)).first(where: { x[$0] != y[$0] }) else {
            return x.count == y.count ? nil : "lengths \(x.count) and \(y.count)"
        }
        let from = max(0, index - 60)
        return String(decoding: x[from..<min(x.count, index + 60)], as: UTF8.self) + " | " + String(decoding: y[from..<min(y.count, index + 60)], as: UTF8.self)
    }

    @Test("float64 and float32 frames, with and without the raw output", arguments: cases)
    func sameResult(model: String, variant: String) throws {
        let plugin = try Fixture.plugin(ParserTests.names[model] ?? model)
        let json = try Fixture.json("\(model)_\(variant).json")
        for float32 in [false, true] {
            let asJSON = float32 ? BinaryForm.roundedToFloat32(json) : json
            let binary = try BinaryForm(json, float32: float32).decoded()
            #expect(binary != .null)
            for options in [ParseOptions(scoreThreshold: 0), ParseOptions(), ParseOptions(includeRaw: true, denseTopology: true)] {
                let fromJSON = try plugin.parse(raw: asJSON, options: options)
                let fromFrames = try plugin.parse(raw: binary, options: options)
                let difference = Self.firstDifference(try Self.standard(fromFrames), try Self.standard(fromJSON))
                #expect(difference == nil, "\(model) \(variant) float32: \(float32)")
                var left = fromFrames, right = fromJSON
                (left.meta.timingsSeconds, right.meta.timingsSeconds, left.raw, right.raw) = ([:], [:], nil, nil)
                #expect(left == right)
            }
        }
    }

    @Test("infinite and NaN scores in frames are dropped with the warning a JSON null gets", arguments: ParserTests.models)
    func infiniteScores(model: String) throws {
        let plugin = try Fixture.plugin(ParserTests.names[model] ?? model)
        let json = try Fixture.json("\(model)_typical.json")
        // In JSON the runtime writes every non-finite float as null; frames carry NaN, +inf, -inf as they are.
        let spoiled = [Double.nan, .infinity, -.infinity]
        func spoil(_ value: JSONValue, key: String, withNull: Bool) -> JSONValue {
            switch value {
            case .object(let members): return .object(members.map { ($0.0, spoil($0.1, key: $0.0, withNull: withNull)) })
            case .array(let items) where key.hasSuffix("scores_3d") || key == "pred_te" || key == "pred_lc" || key == "lane_scores":
                return .array(items.enumerated().map { index, item in
                    if key == "pred_te" { return index == 1 ? spoil(item, key: "scores_3d", withNull: withNull) : item }
                    if key == "pred_lc" { return index == 1 ? spoil(item, key: "lane_scores", withNull: withNull) : item }
                    guard index < 3 else { return item }
                    let bad: JSONValue = withNull ? .null : .number(spoiled[index])
                    return key == "lane_scores" ? .array([bad]) : bad  // lane scores are (L,1)
                })
            case .array(let items): return .array(items.map { spoil($0, key: key, withNull: withNull) })
            default: return value
            }
        }
        let asJSON = spoil(json, key: "", withNull: true)
        let binary = try BinaryForm(spoil(json, key: "", withNull: false)).decoded()
        let fromJSON = try plugin.parse(raw: asJSON, options: ParseOptions(scoreThreshold: 0, includeRaw: true))
        let fromFrames = try plugin.parse(raw: binary, options: ParseOptions(scoreThreshold: 0, includeRaw: true))
        #expect(!fromFrames.meta.warnings.isEmpty, "\(model): no score was spoiled")
        #expect(Self.firstDifference(try Self.standard(fromFrames), try Self.standard(fromJSON)) == nil)
        // include_raw writes the frames' NaN and infinities as null, as the JSON answer had them.
        #expect(String(decoding: try fromFrames.jsonBytes(), as: UTF8.self).contains("[null,null,null,") || model == "topomlp")
    }

    @Test("a NaN or infinite coordinate of a kept item is refused in both forms")
    func nonFiniteCoordinate() throws {
        let plugin = try Fixture.plugin("PETR")
        for bad in [Double.nan, .infinity] {
            let boxes: [Double] = [bad, 0, 0, 1, 1, 1, 0, 0, 0]
            let tensor = try Tensor(shape: [1, 9], storage: .float32(boxes.map { Float($0) }))
            let binary = JSONValue.object([("pts_bbox", .object([
                ("boxes_3d", .tensor(tensor)), ("scores_3d", .tensor(try Tensor(shape: [1], storage: .float32([0.5])))),
                ("labels_3d", .tensor(try Tensor(shape: [1], storage: .int64([1])))),
            ]))])
            #expect(throws: PluginError(.invalidValue, "key 'pts_bbox.boxes_3d'[0]: non-finite value \(Double(Float(bad)))")) {
                _ = try plugin.parse(raw: binary)
            }
        }
        #expect(throws: PluginError(.invalidValue, "key 'pts_bbox.boxes_3d'[0]: non-finite value nan")) {
            _ = try plugin.parse(raw: JSONReader.parse(#"{"pts_bbox": {"boxes_3d": [[null,0,0,1,1,1,0,0,0]], "scores_3d": [0.5], "labels_3d": [1]}}"#))
        }
    }
}
