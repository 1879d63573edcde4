/// A dense numeric array read from a `tolist()` dump: row-major values and the shape.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Double]

    public init(shape: [Int], values: [Double]) {
        self.shape = shape
        self.values = values
    }

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
    /// An empty list stands for zero rows whatever the rank (`tolist()` of a `(0, 9)` tensor is `[]`).
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
        if case .array(let top) = value, top.isEmpty, firstMayBeEmpty {
            return Tensor(shape: [0] + expected.dropFirst().map { if case .fixed(let size) = $0 { size } else { 0 } }, values: [])
        }
        // The actual shape from the first element along each axis; every element is then checked against it.
        var shape: [Int] = []
        var probe = value
        while case .array(let items) = probe {
            shape.append(items.count)
            guard let first = items.first else { break }
            probe = first
        }
        guard shape.count == expected.count else {
            if shape.isEmpty { throw wrong(value.kind) }
            throw wrong("shape " + describe(shape))
        }
        for (size, dim) in zip(shape, expected) {
            if case .fixed(let want) = dim, want != size { throw wrong("shape " + describe(shape)) }
        }
        var values: [Double] = []
        values.reserveCapacity(shape.reduce(1, *))
        try flatten(value, depth: 0, shape: shape, into: &values, path: "", key: key, shapeText: shapeText)
        return Tensor(shape: shape, values: values)
    }

    private static func flatten(
        _ value: JSONValue, depth: Int, shape: [Int], into values: inout [Double], path: String, key: String, shapeText: String
    ) throws(PluginError) {
        if depth == shape.count {
            if case .null = value { values.append(.nan); return }
            guard case .number(let number) = value else {
                throw PluginError(.wrongShape, "key '\(key)': element \(path) is \(value.kind), expected a number (shape \(shapeText))")
            }
            values.append(number)
            return
        }
        guard case .array(let items) = value, items.count == shape[depth] else {
            let actual = value.arrayValue.map { "\($0.count) elements" } ?? value.kind
            throw PluginError(.wrongShape, "key '\(key)': expected shape \(shapeText), got a ragged array: element \(path.isEmpty ? "root" : path) has \(actual), expected \(shape[depth]) (first row's shape \(describe(shape)))")
        }
        if depth == shape.count - 1 {
            // Innermost axis: read numbers directly, the hot loop for big matrices.
            for (index, item) in items.enumerated() {
                // The worker runtime writes NaN as null (JSON has no NaN): read it back as NaN.
                if case .null = item { values.append(.nan); continue }
                guard case .number(let number) = item else {
                    throw PluginError(.wrongShape, "key '\(key)': element \(path)[\(index)] is \(item.kind), expected a number (shape \(shapeText))")
                }
                values.append(number)
            }
            return
        }
        for (index, item) in items.enumerated() {
            try flatten(item, depth: depth + 1, shape: shape, into: &values, path: path + "[\(index)]", key: key, shapeText: shapeText)
        }
    }

    static func describe(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ",") + (shape.count == 1 ? ",)" : ")")
    }

    /// Rows of the first axis.
    public var count: Int { shape.first ?? 0 }

    /// The values of row `index` of a rank-2 tensor.
    public func row(_ index: Int) -> ArraySlice<Double> {
        let width = values.count / max(count, 1)
        return values[(index * width)..<((index + 1) * width)]
    }

    /// Element at a multi-index.
    public subscript(_ indices: Int...) -> Double {
        var offset = 0
        for (axis, index) in indices.enumerated() { offset = offset * shape[axis] + index }
        return values[offset]
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
