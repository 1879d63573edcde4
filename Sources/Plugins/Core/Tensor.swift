/// A dense numeric array: its shape and its elements in row-major order, in typed storage.
///
/// A tensor read from a worker's binary frame keeps the worker's element type (a float32 tensor stays
/// 4 bytes an element, as it came off the pipe); one read from JSON lists is float64. The parsers read
/// elements as `Double` where they use them (``subscript(flat:)``, ``row(_:)``), so nothing converts a
/// whole tensor eagerly, and the typed buffer stays available to send on as it is
/// (``withUnsafeBytes(_:)``).
public struct Tensor: Sendable {
    /// An element type a tensor frame may carry (docs/worker-protocol.md).
    public enum DType: String, Sendable, CaseIterable {
        case float32, float64, int32, int64, uint8
        /// One byte per element, 0 false, anything else true.
        case bool

        /// Bytes per element.
        public var byteWidth: Int {
            switch self {
            case .float32, .int32: 4
            case .float64, .int64: 8
            case .uint8, .bool: 1
            }
        }

        /// The Open Inference Protocol's (Triton's) datatype name.
        public var oipName: String {
            switch self {
            case .float32: "FP32"
            case .float64: "FP64"
            case .int32: "INT32"
            case .int64: "INT64"
            case .uint8: "UINT8"
            case .bool: "BOOL"
            }
        }
    }

    /// The elements, one array of the element type.
    public enum Storage: Sendable {
        case float32([Float])
        case float64([Double])
        case int32([Int32])
        case int64([Int64])
        case uint8([UInt8])
        /// One byte per element as it came off the wire; nonzero is true.
        case bool([UInt8])
    }

    public let shape: [Int]
    public let storage: Storage

    /// A float64 tensor; `values.count` must be the product of `shape`.
    public init(shape: [Int], values: [Double]) {
        precondition(values.count == shape.reduce(1, *), "a tensor of shape \(shape) holds \(shape.reduce(1, *)) values, not \(values.count)")
        self.shape = shape
        self.storage = .float64(values)
    }

    /// A tensor of `storage`.
    /// - Throws: ``PluginError`` `.wrongShape` when the storage does not hold exactly the shape's elements.
    public init(shape: [Int], storage: Storage) throws(PluginError) {
        var product = 1
        for size in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            guard size >= 0, !overflow else { throw PluginError(.wrongShape, "shape \(Self.describe(shape)) is not a valid tensor shape") }
            product = next
        }
        guard product == Self.count(of: storage) else {
            throw PluginError(.wrongShape, "a tensor of shape \(Self.describe(shape)) holds \(product) elements, the storage \(Self.count(of: storage))")
        }
        self.shape = shape
        self.storage = storage
    }

    private static func count(of storage: Storage) -> Int {
        switch storage {
        case .float32(let values): values.count
        case .float64(let values): values.count
        case .int32(let values): values.count
        case .int64(let values): values.count
        case .uint8(let values), .bool(let values): values.count
        }
    }

    public var dtype: DType {
        switch storage {
        case .float32: .float32
        case .float64: .float64
        case .int32: .int32
        case .int64: .int64
        case .uint8: .uint8
        case .bool: .bool
        }
    }

    /// All elements (the product of the shape).
    public var elementCount: Int { Self.count(of: storage) }

    /// Rows of the first axis.
    public var count: Int { shape.first ?? 0 }

    /// Element `index` in row-major order, as a Double (exact for every dtype but int64 beyond 2^53).
    public subscript(flat index: Int) -> Double {
        switch storage {
        case .float32(let values): Double(values[index])
        case .float64(let values): values[index]
        case .int32(let values): Double(values[index])
        case .int64(let values): Double(values[index])
        case .uint8(let values): Double(values[index])
        case .bool(let values): values[index] == 0 ? 0 : 1
        }
    }

    /// Elements `range` (row-major) as Doubles, converted in one pass.
    public func values(_ range: Range<Int>) -> ArraySlice<Double> {
        switch storage {
        case .float64(let values): return values[range]
        case .float32(let values): return ArraySlice(values[range].map(Double.init))
        case .int32(let values): return ArraySlice(values[range].map(Double.init))
        case .int64(let values): return ArraySlice(values[range].map(Double.init))
        case .uint8(let values): return ArraySlice(values[range].map(Double.init))
        case .bool(let values): return ArraySlice(values[range].map { $0 == 0 ? 0.0 : 1.0 })
        }
    }

    /// Every element as a Double (row-major).
    public var doubles: [Double] { Array(values(0..<elementCount)) }

    /// The elements of row `index` of the first axis (all later axes flattened).
    public func row(_ index: Int) -> ArraySlice<Double> {
        let width = elementCount / max(count, 1)
        return values((index * width)..<((index + 1) * width))
    }

    /// Element at a multi-index.
    public subscript(_ indices: Int...) -> Double {
        var offset = 0
        for (axis, index) in indices.enumerated() { offset = offset * shape[axis] + index }
        return self[flat: offset]
    }

    /// The elements' bytes, row-major, in the host's byte order (little-endian on every platform
    /// podagent runs on: the wire order of tensor frames and of Triton's binary tensors).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .float32(let values): try values.withUnsafeBytes(body)
        case .float64(let values): try values.withUnsafeBytes(body)
        case .int32(let values): try values.withUnsafeBytes(body)
        case .int64(let values): try values.withUnsafeBytes(body)
        case .uint8(let values), .bool(let values): try values.withUnsafeBytes(body)
        }
    }

    /// `(300,9)`; a one-axis shape as `(300,)` like Python's tuples.
    static func describe(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ",") + (shape.count == 1 ? ",)" : ")")
    }
}

extension Tensor: Equatable {
    /// Same shape and same element values (as numbers, whatever the storage; NaN equals NaN, as in ``JSONValue``).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape, lhs.elementCount == rhs.elementCount else { return false }
        for index in 0..<lhs.elementCount {
            let a = lhs[flat: index], b = rhs[flat: index]
            if a != b, !(a.isNaN && b.isNaN) { return false }
        }
        return true
    }
}
