#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import NIOCore
import Plugins

extension TritonController {
    /// `POST /v2/models/{name}/infer`: the request in JSON or with binary tensors (``OIPInferRequest``);
    /// the output `result` (the standard result's JSON text) as JSON, or as binary data after the JSON
    /// header when the request asked for it.
    func infer(_ request: Request, model plugin: any ModelPlugin) async throws -> Response {
        let service = try service()
        let model = plugin.manifest.name
        let received = try await bodyIntake.receive(request)
        defer { received.finish() }
        let headerLength = OIPAnswer.headerLengthName.flatMap { request.headers[$0] }
        let oip = try await received.decode { data throws(AgentError) in try OIPInferRequest(data, headerLength: headerLength) }
        let id = oip.id ?? InferenceHeaders.requestID(request)
        let options = try InferenceOptions(oip.parameters, key: "parameters")
        let answer = try await service.run(.init(id: id, model: model, inputs: oip.sample, options: options, offload: received.isLarge))
        let version = await service.status(of: model)?.version ?? plugin.manifest.version
        let parameters = OIPAnswer.Parameters(
            timings_s: answer.timings, attempts: answer.attempts, gpu_memory_mib: answer.gpuMemoryMiB)
        let body = OIPAnswer(model_name: model, model_version: version, id: id, parameters: parameters, result: answer.body, binary: oip.binaryOutput)
        return try body.response(headers: InferenceHeaders.fields(id: id, answer: answer, contentType: nil))
    }
}

/// An OIP infer answer with its one output, `result`: JSON text in `data`, or (binary tensor data
/// extension) a BYTES element after the JSON header: a 4-byte little-endian length, then the text.
struct OIPAnswer: Encodable {
    static let headerLengthName = HTTPFields.Element.Name(OIPInferRequest.headerName)

    struct Parameters: Encodable {
        var timings_s: InferenceTimings
        var attempts: Int
        var gpu_memory_mib: Double?
    }
    struct Output: Encodable {
        struct Parameters: Encodable {
            var binary_data_size: Int
        }
        var name: String
        var datatype: String
        var shape: [Int]
        var parameters: Parameters?
        var data: [String]?
    }
    var model_name: String
    var model_version: String
    var id: String
    var parameters: Parameters
    var outputs: [Output]
    /// The standard result's bytes, when they go after the header.
    private let binaryResult: ByteBuffer?

    enum CodingKeys: String, CodingKey {
        case model_name, model_version, id, parameters, outputs
    }

    init(model_name: String, model_version: String, id: String, parameters: Parameters, result: ByteBuffer, binary: Bool) {
        (self.model_name, self.model_version, self.id, self.parameters) = (model_name, model_version, id, parameters)
        let name = OIPInterface.outputName
        if binary {
            outputs = [Output(name: name, datatype: "BYTES", shape: [1], parameters: .init(binary_data_size: 4 + result.readableBytes))]
            binaryResult = result
        } else {
            outputs = [Output(name: name, datatype: "BYTES", shape: [1], data: [String(buffer: result)])]
            binaryResult = nil
        }
    }

    /// The HTTP answer: JSON, or the JSON header, the binary data and `Inference-Header-Content-Length`.
    func response(headers: HTTPFields) throws -> Response {
        guard let binaryResult else { return try JSONResponse.make(.ok, self, headers: headers) }
        guard let length = UInt32(exactly: binaryResult.readableBytes) else {
            throw AgentError(.internalError, "the result is \(binaryResult.readableBytes) bytes, more than a BYTES element's 4-byte length can say")
        }
        let header = try JSONResponse.encoder.encode(self)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(header.count + 4 + binaryResult.readableBytes)
        buffer.writeBytes(header)
        buffer.writeInteger(length, endianness: .little)
        buffer.writeImmutableBuffer(binaryResult)
        var fields = headers
        fields[.contentType] = "application/octet-stream"
        if let name = Self.headerLengthName { fields[name] = String(header.count) }
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: buffer))
    }
}
