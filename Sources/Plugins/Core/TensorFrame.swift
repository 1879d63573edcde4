/// The header of one tensor frame of a worker answer (docs/worker-protocol.md, protocol 2): where
/// the tensor sits in the answer's `raw`, its dtype, its shape and its length in bytes. The frame's
/// bytes follow the answer line, frame after frame, row-major and little-endian.
public struct TensorFrame: Sendable, Equatable {
    /// One step from `raw` to the tensor: a member name, or a list index.
    public enum Step: Sendable, Equatable, CustomStringConvertible {
        case key(String)
        case index(Int)

        public var description: String {
            switch self {
            case .key(let name): ".\(name)"
            case .index(let index): "[\(index)]"
            }
        }
    }

    public var path: [Step]
    public var dtype: Tensor.DType
    public var shape: [Int]
    public var byteCount: Int

    public init(path: [Step], dtype: Tensor.DType, shape: [Int], byteCount: Int) {
        self.path = path
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
    }

    /// `raw.output[0].pts_bbox.boxes_3d`.
    public var place: String { "raw" + path.map(\.description).joined() }

    /// Most axes a frame may have (numpy's own limit is 64).
    public static let maxRank = 64
    /// Most frames one answer may declare.
    public static let maxFrames = 65536

    /// Reads and checks the `frames` list of an answer line, before any frame byte is read: each
    /// header must be complete, of a known dtype, with a byte length that is exactly its shape's
    /// elements times the dtype's width, and all together at most `limit` bytes (so nothing is
    /// allocated for a length a hostile worker made up).
    /// - Throws: ``PluginError`` `.malformedFrame` naming the frame and what is wrong with it.
    public static func headers(_ value: JSONValue, limit: Int) throws(PluginError) -> [TensorFrame] {
        guard case .array(let items) = value else {
            throw PluginError(.malformedFrame, "'frames' must be a list of frame headers, got \(value.kind)")
        }
        guard items.count <= maxFrames else {
            throw PluginError(.malformedFrame, "'frames' declares \(items.count) frames, more than the \(maxFrames) one answer may carry")
        }
        var frames: [TensorFrame] = []
        frames.reserveCapacity(items.count)
        var total = 0
        for (number, item) in items.enumerated() {
            let frame = try header(item, number: number)
            let (sum, overflow) = total.addingReportingOverflow(frame.byteCount)
            guard !overflow, sum <= limit else {
                throw PluginError(.malformedFrame, "frames 0...\(number) declare \(overflow ? "more than \(Int.max)" : String(sum)) bytes, more than the \(limit)-byte limit of one answer")
            }
            total = sum
            frames.append(frame)
        }
        return frames
    }

    private static func header(_ item: JSONValue, number: Int) throws(PluginError) -> TensorFrame {
        func fail(_ problem: String) -> PluginError { PluginError(.malformedFrame, "frame \(number): \(problem)") }
        guard case .object = item else { throw fail("a header must be an object {path, dtype, shape, bytes}, got \(item.kind)") }
        guard case .array(let steps)? = item["path"] else { throw fail("'path' must be a list of keys and indices") }
        guard steps.count <= maxRank else { throw fail("'path' has \(steps.count) steps, more than \(maxRank)") }
        var path: [Step] = []
        for step in steps {
            switch step {
            case .string(let key): path.append(.key(key))
            case .number(let index) where index >= 0 && index < 0x1p31 && index == index.rounded(): path.append(.index(Int(index)))
            default: throw fail("'path' steps must be keys (strings) or list indices (non-negative integers), got \(step.kind)")
            }
        }
        let place = "raw" + path.map(\.description).joined()
        func failAt(_ problem: String) -> PluginError { PluginError(.malformedFrame, "frame \(number) (\(place)): \(problem)") }
        guard let name = item["dtype"]?.stringValue else { throw failAt("'dtype' must be a string") }
        guard let dtype = Tensor.DType(rawValue: name) else {
            throw failAt("unknown dtype '\(name.prefix(40))' (known: \(Tensor.DType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard case .array(let dims)? = item["shape"] else { throw failAt("'shape' must be a list of sizes") }
        guard dims.count <= maxRank else { throw failAt("'shape' has \(dims.count) axes, more than \(maxRank)") }
        var shape: [Int] = []
        var elements = 1
        for dim in dims {
            guard let size = dim.numberValue, size >= 0, size == size.rounded(), size < 0x1p62 else {
                throw failAt("'shape' sizes must be non-negative integers, got \(dim.numberValue.map { "\($0)" } ?? dim.kind)")
            }
            shape.append(Int(size))
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(size))
            guard !overflow else { throw failAt("shape \(Tensor.describe(shape)) has more elements than this machine can count") }
            elements = product
        }
        guard let length = item["bytes"]?.numberValue, length >= 0, length == length.rounded(), length < 0x1p62 else {
            throw failAt("'bytes' must be a non-negative integer")
        }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteWidth)
        guard !overflow, Int(length) == expected else {
            throw failAt("\(Int(length)) bytes do not hold a \(dtype.rawValue) tensor of shape \(Tensor.describe(shape)) (\(overflow ? "overflow" : String(expected)) bytes)")
        }
        return TensorFrame(path: path, dtype: dtype, shape: shape, byteCount: Int(length))
    }
}

/// Where a frame's bytes come from: the worker's pipe, or memory in tests.
public protocol TensorByteSource {
    /// Fills all of `buffer` with the next bytes, or throws (the stream ended, a read failed).
    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(PluginError)
}

extension Tensor {
    /// Reads one frame's bytes from `source` straight into typed storage of the frame's dtype: one
    /// allocation of exactly the declared length, no text, no per-element work.
    public static func read(_ frame: TensorFrame, from source: inout some TensorByteSource) throws(PluginError) -> Tensor {
        let elements = frame.byteCount / frame.dtype.byteWidth
        let storage: Storage = switch frame.dtype {
        case .float32: .float32(try filled(Float.self, count: elements, from: &source))
        case .float64: .float64(try filled(Double.self, count: elements, from: &source))
        case .int32: .int32(try filled(Int32.self, count: elements, from: &source))
        case .int64: .int64(try filled(Int64.self, count: elements, from: &source))
        case .uint8: .uint8(try filled(UInt8.self, count: elements, from: &source))
        case .bool: .bool(try filled(UInt8.self, count: elements, from: &source))
        }
        return try Tensor(shape: frame.shape, storage: storage)
    }

    private static func filled<Element: BitwiseCopyable>(
        _ type: Element.Type, count: Int, from source: inout some TensorByteSource
    ) throws(PluginError) -> [Element] {
        var failure: PluginError?
        let values = [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(PluginError) {
                try source.fill(UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            } catch {
                failure = error
                initialized = 0  // plain numbers: nothing to deinitialise
            }
        }
        if let failure { throw failure }
        #if _endian(big)
        // Frames are little-endian; swap in place on a big-endian host.
        return values.map { value in
            var copy = value
            Swift.withUnsafeMutableBytes(of: &copy) { $0.reverse() }
            return copy
        }
        #else
        return values
        #endif
    }
}

extension JSONValue {
    /// This answer's `raw` with each frame's tensor at the frame's path, where the line holds the
    /// null placeholder.
    /// - Throws: ``PluginError`` `.malformedFrame` when a path leads nowhere, or to something other than null
    ///   (two frames for one place included).
    public func placing(_ tensors: [(frame: TensorFrame, tensor: Tensor)]) throws(PluginError) -> JSONValue {
        var root = self
        for (number, item) in tensors.enumerated() {
            root = try Self.place(item.tensor, in: root, path: item.frame.path[...], frame: number, place: item.frame.place)
        }
        return root
    }

    private static func place(
        _ tensor: Tensor, in value: JSONValue, path: ArraySlice<TensorFrame.Step>, frame: Int, place: String
    ) throws(PluginError) -> JSONValue {
        guard let step = path.first else {
            guard case .null = value else {
                throw PluginError(.malformedFrame, "frame \(frame): \(place) holds \(value.kind), not the null a frame replaces")
            }
            return .tensor(tensor)
        }
        switch (step, value) {
        case (.key(let key), .object(var members)):
            guard let index = members.firstIndex(where: { $0.0 == key }) else {
                throw PluginError(.malformedFrame, "frame \(frame): \(place): the answer has no member '\(key)' there")
            }
            members[index].1 = try Self.place(tensor, in: members[index].1, path: path.dropFirst(), frame: frame, place: place)
            return .object(members)
        case (.index(let index), .array(var items)):
            guard index < items.count else {
                throw PluginError(.malformedFrame, "frame \(frame): \(place): index \(index) is past the list's \(items.count) items")
            }
            items[index] = try Self.place(tensor, in: items[index], path: path.dropFirst(), frame: frame, place: place)
            return .array(items)
        default:
            throw PluginError(.malformedFrame, "frame \(frame): \(place): step \(step) meets \(value.kind)")
        }
    }
}
