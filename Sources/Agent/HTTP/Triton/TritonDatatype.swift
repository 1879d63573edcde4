import Plugins

/// A tensor datatype of the Open Inference Protocol, by Triton's names, and how its binary form reads
/// (Triton's binary tensor data extension: little-endian, row-major, no padding; BOOL one byte; each
/// BYTES element a 4-byte little-endian length and its bytes).
enum TritonDatatype: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case uint8 = "UINT8", uint16 = "UINT16", uint32 = "UINT32", uint64 = "UINT64"
    case int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64"
    case fp16 = "FP16", fp32 = "FP32", fp64 = "FP64", bf16 = "BF16"
    case bytes = "BYTES"

    /// Bytes per element; nil for BYTES, whose elements carry their own lengths.
    var byteWidth: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16, .bf16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes: nil
        }
    }

    /// The model configuration's name for it (`TYPE_FP32`; BYTES is `TYPE_STRING`).
    var configName: String {
        self == .bytes ? "TYPE_STRING" : "TYPE_" + rawValue
    }

    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Elements in a tensor of `shape`, or nil when a size is negative or the product overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        var product = 1
        for size in shape {
            guard size >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            product = next
        }
        return product
    }

    /// Reads the binary form of a numeric tensor into a typed ``Tensor``, widening the types a tensor
    /// has no storage for (INT8, INT16, UINT16 as int32; UINT32 as int64; FP16, BF16 as float32).
    /// - Throws: a message (without the input's name) when the byte count does not match the shape,
    ///   or a UINT64 element does not fit an int64.
    func numericTensor(_ raw: UnsafeRawBufferPointer, shape: [Int]) throws(TritonTensorError) -> Tensor {
        guard let width = byteWidth else { throw TritonTensorError("BYTES is not a numeric datatype") }
        guard let count = Self.elementCount(shape) else { throw TritonTensorError("shape \(shape) is not a valid tensor shape") }
        let (needed, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow, needed == raw.count else {
            throw TritonTensorError("binary_data_size is \(raw.count) bytes, but shape \(shape) of \(rawValue) takes \(overflow ? "more than \(Int.max)" : String(needed))")
        }
        func read<T: FixedWidthInteger>(_: T.Type) -> [T] {
            (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
        }
        let storage: Tensor.Storage
        switch self {
        case .bool: storage = .bool(read(UInt8.self).map { $0 == 0 ? 0 : 1 })
        case .uint8: storage = .uint8(read(UInt8.self))
        case .int8: storage = .int32(read(Int8.self).map(Int32.init))
        case .int16: storage = .int32(read(Int16.self).map(Int32.init))
        case .uint16: storage = .int32(read(UInt16.self).map(Int32.init))
        case .int32: storage = .int32(read(Int32.self))
        case .uint32: storage = .int64(read(UInt32.self).map(Int64.init))
        case .int64: storage = .int64(read(Int64.self))
        case .uint64:
            let values = read(UInt64.self)
            if let index = values.firstIndex(where: { $0 > UInt64(Int64.max) }) {
                throw TritonTensorError("element \(index) (\(values[index])) does not fit a signed 64-bit integer")
            }
            storage = .int64(values.map { Int64($0) })
        case .fp16: storage = .float32(read(UInt16.self).map { Float(Float16(bitPattern: $0)) })
        case .bf16: storage = .float32(read(UInt16.self).map { Float(bitPattern: UInt32($0) << 16) })
        case .fp32: storage = .float32(read(UInt32.self).map(Float.init(bitPattern:)))
        case .fp64: storage = .float64(read(UInt64.self).map(Double.init(bitPattern:)))
        case .bytes: throw TritonTensorError("BYTES is not a numeric datatype")
        }
        do { return try Tensor(shape: shape, storage: storage) } catch { throw TritonTensorError(error.message) }
    }

    /// Reads the binary form of a BYTES tensor: exactly the shape's count of length-prefixed elements,
    /// filling `raw` to its end, each valid UTF-8 (a sample description or a path).
    static func byteElements(_ raw: UnsafeRawBufferPointer, shape: [Int]) throws(TritonTensorError) -> [String] {
        guard let count = elementCount(shape) else { throw TritonTensorError("shape \(shape) is not a valid tensor shape") }
        var elements: [String] = []
        var offset = 0
        while offset < raw.count {
            guard raw.count - offset >= 4 else {
                throw TritonTensorError("element \(elements.count): \(raw.count - offset) bytes left, too few for its 4-byte length")
            }
            let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
            guard length <= raw.count - offset else {
                throw TritonTensorError("element \(elements.count) says \(length) bytes, but only \(raw.count - offset) of binary_data_size are left")
            }
            guard let text = String(validating: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + length]), as: UTF8.self) else {
                throw TritonTensorError("element \(elements.count) is not valid UTF-8")
            }
            elements.append(text)
            offset += length
            guard elements.count <= count else { break }
        }
        guard elements.count == count else {
            throw TritonTensorError("binary_data_size holds \(elements.count)\(offset < raw.count ? " or more" : "") elements, but shape \(shape) has \(count)")
        }
        return elements
    }
}

/// Why a tensor's data does not fit its datatype and shape; the caller names the input.
struct TritonTensorError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
