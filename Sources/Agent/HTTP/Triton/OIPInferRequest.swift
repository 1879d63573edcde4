#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Plugins

/// An OIP infer body (`POST /v2/models/{name}/infer`), in JSON or with Triton's binary tensor data
/// extension: a JSON header of `Inference-Header-Content-Length` bytes, then each input whose
/// `parameters.binary_data_size` is given, in the order the header lists them.
///
/// The sample description is the BYTES input `sample` (a JSON text); every other input becomes one
/// more key of it: BYTES inputs as strings (e.g. `img_paths`, a list of file paths), numeric inputs
/// as tensors of their datatype and shape.
struct OIPInferRequest: Sendable {
    var id: String?
    var sample: JSONValue
    /// The request's `parameters` less the binary data extension's own (`binary_data_output`), with
    /// Triton's `timeout` as podagent's `timeout_s`.
    var parameters: JSONValue?
    /// Whether the output `result` goes back as binary data (its `binary_data`, else the request's
    /// `binary_data_output`).
    var binaryOutput = false

    static let headerName = "Inference-Header-Content-Length"

    /// Reads `body`; `headerLength` is the request's `Inference-Header-Content-Length`, as sent.
    /// - Throws: ``AgentError`` `.invalidArgument` naming the header, input or key that is wrong.
    init(_ body: Data, headerLength: String?) throws(AgentError) {
        var binaryStart = body.count
        if let headerLength {
            guard let length = Int(headerLength.filter { $0 != " " && $0 != "\t" }), length >= 0 else {
                throw AgentError(.invalidArgument, "\(Self.headerName): expected the JSON header's length in bytes (an integer of 0 or more), got '\(headerLength.prefix(40))'")
            }
            guard length <= body.count else {
                throw AgentError(.invalidArgument, "\(Self.headerName): \(length) bytes is beyond the request body's \(body.count)")
            }
            binaryStart = length
        }
        let document: JSONValue
        do {
            document = try RequestBody.json(body.prefix(binaryStart), source: headerLength == nil ? "request body" : "request body (JSON header)")
        } catch where headerLength == nil && error.message.contains("after the document") {
            throw AgentError(.invalidArgument, error.message + " (binary tensor data after the JSON needs the \(Self.headerName) header: the JSON's length in bytes)")
        }
        guard case .object(let members) = document else {
            throw AgentError(.invalidArgument, "request body: expected a JSON object, got \(document.kind)")
        }
        if let unknown = members.map(\.0).first(where: { !["id", "inputs", "parameters", "outputs"].contains($0) }) {
            throw AgentError(.invalidArgument, "request body: unknown key '\(unknown)' (expected id, inputs, parameters, outputs)")
        }
        if let id = document["id"] {
            guard let text = id.stringValue else { throw AgentError(.invalidArgument, "id: expected a string") }
            // The id is echoed and logged: a newline in it would forge a line of the text log.
            guard (1...256).contains(text.count), !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw AgentError(.invalidArgument, "id: expected 1 to 256 characters without control characters (newlines, tabs, escapes)")
            }
            self.id = text
        }
        let binaryDefault = try Self.readParameters(document["parameters"], into: &parameters)
        binaryOutput = try Self.binaryOutput(document["outputs"], default: binaryDefault)
        guard let inputs = document["inputs"]?.arrayValue, !inputs.isEmpty else {
            throw AgentError(.invalidArgument, "inputs: expected a non-empty list of tensors ({\"name\": \"sample\", \"datatype\": \"BYTES\", \"shape\": [1], \"data\": [\"<sample JSON>\"]})")
        }
        let read: Result<JSONValue, AgentError> = body.withUnsafeBytes { raw in
            do throws(AgentError) {
                var reader = BinarySection(raw, start: binaryStart, announced: headerLength != nil)
                let sample = try Self.sample(inputs, binary: &reader)
                try reader.finish()
                return .success(sample)
            } catch {
                return .failure(error)
            }
        }
        sample = try read.get()
    }

    /// Takes `binary_data_output` out of `parameters` (the rest goes on as options) and returns it;
    /// Triton's reserved `timeout` becomes `timeout_s`.
    private static func readParameters(_ value: JSONValue?, into parameters: inout JSONValue?) throws(AgentError) -> Bool {
        guard let value, case .object(let members) = value else {
            parameters = value
            return false
        }
        var binary = false
        if let flag = value["binary_data_output"] {
            guard case .bool(let on) = flag else { throw AgentError(.invalidArgument, "parameters.binary_data_output: expected true or false, got \(flag.kind)") }
            binary = on
        }
        var rest = members.filter { $0.0 != "binary_data_output" && $0.0 != "timeout" }
        if let timeout = value["timeout"] {
            guard value["timeout_s"] == nil else {
                throw AgentError(.invalidArgument, "parameters: both timeout (Triton's, in microseconds) and timeout_s (seconds) are given; send one")
            }
            if let seconds = try timeoutSeconds(timeout) { rest.append(("timeout_s", .number(seconds))) }
        }
        parameters = .object(rest)
        return binary
    }

    /// The largest `timeout`: `timeout_s`'s day, in microseconds.
    static let maxTimeoutMicroseconds = 86_400_000_000.0

    /// Triton's request `timeout` (tritonclient's `infer(timeout=)`): whole microseconds, as seconds;
    /// nil for 0, which in Triton means none of its own (the model's deadline applies).
    private static func timeoutSeconds(_ value: JSONValue) throws(AgentError) -> Double? {
        guard let micro = value.numberValue, micro >= 0, micro <= maxTimeoutMicroseconds, micro == micro.rounded() else {
            let got = value.numberValue.map { "\($0)" } ?? value.kind
            throw AgentError(.invalidArgument, "parameters.timeout: expected Triton's request timeout, a whole number of microseconds from 0 (none) to \(Int(maxTimeoutMicroseconds)) (a day), got \(got)")
        }
        return micro == 0 ? nil : micro / 1_000_000
    }

    /// The requested outputs: only `result` exists; its `binary_data` overrides the request's default.
    private static func binaryOutput(_ value: JSONValue?, default binaryDefault: Bool) throws(AgentError) -> Bool {
        guard let value, value != .null else { return binaryDefault }
        guard let outputs = value.arrayValue else { throw AgentError(.invalidArgument, "outputs: expected a list of requested outputs, got \(value.kind)") }
        var binary = binaryDefault
        for (index, output) in outputs.enumerated() {
            let key = "outputs[\(index)]"
            guard let name = output["name"]?.stringValue else { throw AgentError(.invalidArgument, "\(key).name: expected a string") }
            guard name == OIPInterface.outputName else {
                throw AgentError(.invalidArgument, "\(key): unknown output '\(name)' (this model's one output is '\(OIPInterface.outputName)', the standard result as JSON text)")
            }
            guard let parameters = output["parameters"], parameters != .null else { continue }
            guard case .object = parameters else { throw AgentError(.invalidArgument, "\(key) (\(name)).parameters: expected a JSON object") }
            if let flag = parameters["binary_data"] {
                guard case .bool(let on) = flag else {
                    throw AgentError(.invalidArgument, "\(key) (\(name)).parameters.binary_data: expected true or false, got \(flag.kind)")
                }
                binary = on
            }
            if let classes = parameters["classification"], classes != .number(0) {
                throw AgentError(.invalidArgument, "\(key) (\(name)).parameters.classification: not supported (the result is the standard result, not a classification tensor)")
            }
        }
        return binary
    }

    /// The sample description with every other input as a key of it.
    private static func sample(_ inputs: [JSONValue], binary: inout BinarySection) throws(AgentError) -> JSONValue {
        var sample: [(String, JSONValue)] = []
        var extra: [(String, JSONValue)] = []
        for (index, tensor) in inputs.enumerated() {
            let input = try OIPInputTensor(tensor, index: index, binary: &binary)
            let key = input.key
            if input.name == "sample" {
                guard case .strings(let data) = input.value else {
                    throw AgentError(.invalidArgument, "\(key): datatype must be BYTES (the sample description as JSON text)")
                }
                guard data.count == 1 else { throw AgentError(.invalidArgument, "\(key): one sample per request, got \(data.count)") }
                switch data[0] {
                case .string(let text):
                    let value = try RequestBody.json(Data(text.utf8), source: "\(key).data[0]")
                    guard case .object(let members) = value else {
                        throw AgentError(.invalidArgument, "\(key).data[0]: expected a JSON object, got \(value.kind)")
                    }
                    sample = members
                case .object(let members):
                    sample = members
                default:
                    throw AgentError(.invalidArgument, "\(key).data[0]: expected the sample description as JSON text")
                }
            } else {
                switch input.value {
                case .strings(let data):
                    // An input named `...paths` stays a list even with one element.
                    let plural = input.name.lowercased().hasSuffix("paths")
                    extra.append((input.name, data.count == 1 && !plural ? data[0] : .array(data)))
                case .tensor(let tensor):
                    extra.append((input.name, .tensor(tensor)))
                }
            }
        }
        for (name, value) in extra where !sample.contains(where: { $0.0 == name }) { sample.append((name, value)) }
        return .object(sample)
    }
}

/// The bytes after the JSON header, handed out to the inputs in order.
struct BinarySection {
    let raw: UnsafeRawBufferPointer
    let start: Int
    /// Whether the request sent `Inference-Header-Content-Length` (binary inputs need it).
    let announced: Bool
    private(set) var offset: Int

    init(_ raw: UnsafeRawBufferPointer, start: Int, announced: Bool) {
        self.raw = raw
        self.start = start
        self.announced = announced
        self.offset = start
    }

    /// The next `size` bytes, for the input `key`.
    mutating func take(_ size: Int, for key: String) throws(AgentError) -> UnsafeRawBufferPointer {
        guard announced else {
            throw AgentError(.invalidArgument, "\(key).parameters.binary_data_size is given, but the request has no \(OIPInferRequest.headerName) header (the JSON header's length, the binary data after it)")
        }
        let left = raw.count - offset
        guard size <= left else {
            throw AgentError(.invalidArgument, "\(key).parameters.binary_data_size is \(size) bytes, beyond the binary data left after the JSON header (\(left) of \(raw.count - start))")
        }
        defer { offset += size }
        return UnsafeRawBufferPointer(rebasing: raw[offset..<offset + size])
    }

    /// Every byte after the header must belong to an input.
    func finish() throws(AgentError) {
        guard offset == raw.count else {
            throw AgentError(.invalidArgument, "\(raw.count - offset) bytes after the JSON header belong to no input (the inputs' binary_data_size add up to \(offset - start))")
        }
    }
}

/// One entry of an OIP request's `inputs`, its data read from JSON or from the binary section.
struct OIPInputTensor {
    enum Value {
        /// BYTES elements (strings; a sample may also be given as a JSON object).
        case strings([JSONValue])
        case tensor(Tensor)
    }

    let name: String
    /// `inputs[2] (img_paths)`, for messages.
    let key: String
    let value: Value

    init(_ tensor: JSONValue, index: Int, binary: inout BinarySection) throws(AgentError) {
        guard case .object = tensor else { throw AgentError(.invalidArgument, "inputs[\(index)]: expected a tensor object, got \(tensor.kind)") }
        guard let name = tensor["name"]?.stringValue, !name.isEmpty else { throw AgentError(.invalidArgument, "inputs[\(index)].name: expected a string") }
        let key = "inputs[\(index)] (\(name))"
        guard let typeName = tensor["datatype"]?.stringValue, let datatype = TritonDatatype(rawValue: typeName) else {
            throw AgentError(.invalidArgument, "\(key).datatype: expected one of \(TritonDatatype.names)")
        }
        let shape = try Self.shape(tensor["shape"], key: key)
        self.name = name
        self.key = key
        if let size = try Self.binarySize(tensor["parameters"], key: key) {
            guard tensor["data"] == nil else {
                throw AgentError(.invalidArgument, "\(key): both data and parameters.binary_data_size are given; send one")
            }
            let raw = try binary.take(size, for: key)
            do {
                if datatype == .bytes {
                    value = .strings(try TritonDatatype.byteElements(raw, shape: shape).map(JSONValue.string))
                } else {
                    value = .tensor(try datatype.numericTensor(raw, shape: shape))
                }
            } catch {
                throw AgentError(.invalidArgument, "\(key): \(error.message)")
            }
            return
        }
        guard let data = tensor["data"]?.arrayValue, !data.isEmpty else {
            throw AgentError(.invalidArgument, "\(key).data: expected a non-empty list (or parameters.binary_data_size with the data after the JSON header)")
        }
        if datatype == .bytes {
            value = .strings(data)
        } else {
            value = .tensor(try Self.jsonTensor(data, datatype: datatype, shape: shape, key: key))
        }
    }

    private static func shape(_ value: JSONValue?, key: String) throws(AgentError) -> [Int] {
        guard let dims = value?.arrayValue else { throw AgentError(.invalidArgument, "\(key).shape: expected a list of sizes") }
        var shape: [Int] = []
        for dim in dims {
            guard let size = dim.numberValue, size >= 0, size < 0x1p53, size == size.rounded() else {
                throw AgentError(.invalidArgument, "\(key).shape: expected sizes of 0 or more, got \(dim.kind == "number" ? "\(dim.numberValue ?? 0)" : dim.kind)")
            }
            shape.append(Int(size))
        }
        guard TritonDatatype.elementCount(shape) != nil else { throw AgentError(.invalidArgument, "\(key).shape: \(shape) has too many elements") }
        return shape
    }

    /// `parameters.binary_data_size`, when given: a whole number of bytes, 0 or more.
    private static func binarySize(_ parameters: JSONValue?, key: String) throws(AgentError) -> Int? {
        guard let parameters, parameters != .null else { return nil }
        guard case .object = parameters else { throw AgentError(.invalidArgument, "\(key).parameters: expected a JSON object") }
        guard let size = parameters["binary_data_size"] else { return nil }
        guard let bytes = size.numberValue, bytes >= 0, bytes < 0x1p53, bytes == bytes.rounded() else {
            throw AgentError(.invalidArgument, "\(key).parameters.binary_data_size: expected a whole number of bytes, 0 or more, got \(size.numberValue.map { "\($0)" } ?? size.kind)")
        }
        return Int(bytes)
    }

    /// A numeric tensor from JSON `data`, flat or nested as the shape.
    private static func jsonTensor(_ data: [JSONValue], datatype: TritonDatatype, shape: [Int], key: String) throws(AgentError) -> Tensor {
        var values: [Double] = []
        var pending = data[...]
        var stack: [ArraySlice<JSONValue>] = []
        while true {
            guard let item = pending.popFirst() else {
                guard let outer = stack.popLast() else { break }
                pending = outer
                continue
            }
            switch item {
            case .number(let number): values.append(number)
            case .bool(let flag) where datatype == .bool: values.append(flag ? 1 : 0)
            case .array(let inner):
                guard stack.count < RequestBody.maxDepth else { throw AgentError(.invalidArgument, "\(key).data: nested too deep") }
                stack.append(pending)
                pending = inner[...]
            default:
                throw AgentError(.invalidArgument, "\(key).data[\(values.count)]: expected \(datatype == .bool ? "true or false" : "a number") for \(datatype.rawValue), got \(item.kind)")
            }
        }
        guard values.count == TritonDatatype.elementCount(shape) else {
            throw AgentError(.invalidArgument, "\(key).data: \(values.count) elements, but shape \(shape) has \(TritonDatatype.elementCount(shape) ?? 0)")
        }
        return Tensor(shape: shape, values: values)
    }
}
