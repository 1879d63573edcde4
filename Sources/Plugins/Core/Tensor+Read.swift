/// Reading a tensor of an expected shape out of a raw output, whichever form it came in: a binary
/// frame (``JSONValue/tensor(_:)``), JSON lists from `tolist()`, or lists holding frames.
extension Tensor {
    /// One dimension of an expected shape: a fixed size, or any size named for messages (`N`).
    public enum Dim: Sendable, Equatable, CustomStringConvertible {
        case fixed(Int)
        case any(String)

        public var description: String {
            switch self {
            case .fixed(let size): String(size)
            case .any(let name): name
            }
        }
    }

    /// Reads `value` as a tensor of the `expected` shape.
    ///
    /// A frame is taken as it is (no copy, its dtype kept); lists become float64, null (how the worker
    /// runtime writes NaN in JSON) becomes NaN and booleans 0 and 1, like a bool frame. An empty list,
    /// and a frame of zero rows, stand for zero rows whatever the rank (`tolist()` of a `(0, 9)` tensor
    /// is `[]`).
    /// - Throws: ``PluginError`` `.wrongShape` naming `key`, the expected and the actual shape.
    public static func read(_ value: JSONValue, key: String, expected: [Dim]) throws(PluginError) -> Tensor {
        let shapeText = "(" + expected.map(\.description).joined(separator: ",") + ")"
        func wrong(_ actual: String) -> PluginError {
            PluginError(.wrongShape, "key '\(key)': expected shape \(shapeText), got \(actual)")
        }
        let firstMayBeEmpty: Bool = switch expected.first {
        case .any: true
        case .fixed(let size): size == 0
        case nil: false
        }
        let zeroRows = [0] + expected.dropFirst().map { if case .fixed(let size) = $0 { size } else { 0 } }
        if firstMayBeEmpty {
            switch value {
            case .array(let top) where top.isEmpty: return Tensor(shape: zeroRows, values: [])
            case .tensor(let tensor) where tensor.shape.first == 0:
                return Tensor(shape: zeroRows, values: [])  // what its `tolist()`, `[]`, would give
            default: break
            }
        }
        // The actual shape from the first element along each axis (a frame brings the rest of it);
        // every element is then checked against it.
        var shape: [Int] = []
        var probe = value
        probing: while true {
            switch probe {
            case .array(let items):
                shape.append(items.count)
                guard let first = items.first else { break probing }
                probe = first
            case .tensor(let tensor):
                shape += tensor.shape
                break probing
            default:
                break probing
            }
        }
        guard shape.count == expected.count else {
            if shape.isEmpty { throw wrong(value.kind) }
            throw wrong("shape " + describe(shape))
        }
        for (size, dim) in zip(shape, expected) {
            if case .fixed(let want) = dim, want != size { throw wrong("shape " + describe(shape)) }
        }
        if case .tensor(let tensor) = value { return tensor }
        var values: [Double] = []
        values.reserveCapacity(shape.reduce(1, *))
        let reader = ListReader(shape: shape, key: key, shapeText: shapeText)
        try reader.flatten(value, depth: 0, into: &values, path: "")
        return Tensor(shape: shape, values: values)
    }

    /// Flattens nested lists (which may hold frames) checked against one shape.
    private struct ListReader {
        let shape: [Int]
        let key: String
        let shapeText: String

        func number(_ item: JSONValue, at path: String) throws(PluginError) -> Double {
            switch item {
            case .number(let number): return number
            // The worker runtime writes NaN as null (JSON has no NaN): read it back as NaN.
            case .null: return .nan
            case .bool(let flag): return flag ? 1 : 0
            default:
                throw PluginError(.wrongShape, "key '\(key)': element \(path) is \(item.kind), expected a number (shape \(shapeText))")
            }
        }

        func flatten(_ value: JSONValue, depth: Int, into values: inout [Double], path: String) throws(PluginError) {
            if depth == shape.count {
                values.append(try number(value, at: path))
                return
            }
            if case .tensor(let tensor) = value {
                guard tensor.shape == Array(shape[depth...]) else {
                    throw PluginError(.wrongShape, "key '\(key)': element \(path.isEmpty ? "root" : path) is a tensor of shape \(describe(tensor.shape)), expected \(describe(Array(shape[depth...]))) (shape \(shapeText))")
                }
                values += tensor.doubles
                return
            }
            guard case .array(let items) = value, items.count == shape[depth] else {
                let actual = value.arrayValue.map { "\($0.count) elements" } ?? value.kind
                throw PluginError(.wrongShape, "key '\(key)': expected shape \(shapeText), got a ragged array: element \(path.isEmpty ? "root" : path) has \(actual), expected \(shape[depth]) (first row's shape \(describe(shape)))")
            }
            if depth == shape.count - 1 {
                // Innermost axis: read numbers directly, the hot loop for big matrices.
                for (index, item) in items.enumerated() {
                    if case .number(let number) = item { values.append(number); continue }
                    values.append(try number(item, at: "\(path)[\(index)]"))
                }
                return
            }
            for (index, item) in items.enumerated() {
                try flatten(item, depth: depth + 1, into: &values, path: path + "[\(index)]")
            }
        }
    }

    /// The tensor as nested lists, as `tolist()` gives it (bool elements as booleans).
    public var jsonValue: JSONValue {
        func build(_ axis: Int, _ offset: Int) -> JSONValue {
            if axis == shape.count {
                if case .bool(let bytes) = storage { return .bool(bytes[offset] != 0) }
                return .number(self[flat: offset])
            }
            let stride = shape[(axis + 1)...].reduce(1, *)
            return .array((0..<shape[axis]).map { build(axis + 1, offset + $0 * stride) })
        }
        return build(0, 0)
    }
}

/// Looking keys up in a raw dump with errors that name the key path.
extension JSONValue {
    /// The member `key`, or a `.missingKey` error naming `path`.
    func require(_ key: String, in path: String) throws(PluginError) -> JSONValue {
        guard case .object = self else {
            throw PluginError(.wrongShape, "key '\(path)': expected an object holding '\(key)', got \(kind)")
        }
        guard let value = self[key] else {
            let full = path.isEmpty ? key : "\(path).\(key)"
            throw PluginError(.missingKey, "key '\(full)' is missing")
        }
        return value
    }

    /// Reads the tensor at `key` inside this object.
    func tensor(_ key: String, in path: String, _ expected: [Tensor.Dim]) throws(PluginError) -> Tensor {
        let full = path.isEmpty ? key : "\(path).\(key)"
        return try Tensor.read(require(key, in: path), key: full, expected: expected)
    }
}

/// Checks shared by the parsers.
///
/// Non-finite values are treated alike whichever form the raw output came in: a JSON null (the
/// runtime's NaN and infinities), a NaN or an infinity in a binary frame.
enum Check {
    /// Throws when the first axes of tensors that must describe the same items differ.
    static func sameCount(_ tensors: [(String, Tensor)]) throws(PluginError) {
        guard let (firstKey, first) = tensors.first else { return }
        for (key, tensor) in tensors.dropFirst() where tensor.count != first.count {
            throw PluginError(.wrongShape, "key '\(key)': expected \(first.count) rows to match '\(firstKey)', got shape \(Tensor.describe(tensor.shape))")
        }
    }

    /// A label as an index into `classes`, or an `.invalidValue` error naming the key and row.
    static func label(_ value: Double, key: String, row: Int, classes: [String]) throws(PluginError) -> Int {
        guard value.isFinite, value == value.rounded(), value >= 0, Int(value) < classes.count else {
            throw PluginError(.invalidValue, "key '\(key)'[\(row)]: label \(value) is not an index into the \(classes.count) classes")
        }
        return Int(value)
    }

    /// Throws when a value the result will carry is NaN or infinite.
    static func finite(_ values: ArraySlice<Double>, key: String, row: Int) throws(PluginError) {
        for value in values where !value.isFinite {
            throw PluginError(.invalidValue, "key '\(key)'[\(row)]: non-finite value \(value)")
        }
    }
}
