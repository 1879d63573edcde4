import AgentAPI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Plugins

/// What one successful `POST /models/{name}/infer` gave back, read as a standard result.
public struct InferReply: Sendable {
    /// The standard result, decoded (the schema in docs/result-schema.md).
    public var result: StandardResult
    /// The agent's body exactly as received (for printing and for `--json`).
    public var body: Data
    /// Seconds from sending the request to the end of the answer, measured here.
    public var latencySeconds: Double
    /// `meta.timings_seconds` from the result: queue, inference, parse, total.
    public var serverTimings: [String: Double]
    /// `X-PodAgent-GPU-Memory-MiB`, when the agent knows it.
    public var gpuMemoryMiB: Double?
    /// `X-PodAgent-Attempts`.
    public var attempts: Int?
    /// `X-Request-Id`.
    public var requestID: String?
}

extension AgentClient {
    /// Runs one sample. `inputs` is the sample description (a JSON object); `options` go to the agent as
    /// given. The answer must be a standard result (no `format` option, or `format=standard`).
    public func inferResult(model: String, inputs: Data, options: [String: JSONValue] = [:]) throws(CompareError) -> InferReply {
        let answer = try inferAsReceived(model: model, inputs: inputs, options: options)
        let result: StandardResult
        do { result = try StandardResult.decode(answer.body) } catch {
            throw CompareError(.invalidResult, "model '\(model)': the agent's answer is not a standard result: \(error.message)")
        }
        return InferReply(result: result, body: answer.body, latencySeconds: answer.latencySeconds,
                          serverTimings: result.meta.timingsSeconds, gpuMemoryMiB: answer.gpuMemoryMiB,
                          attempts: answer.attempts, requestID: answer.requestID)
    }

    /// `POST /models/{model}/infer` with `options` as JSON; the 200 answer as received (any export format).
    public func inferAsReceived(model: String, inputs: Data, options: [String: JSONValue]) throws(CompareError) -> InferAnswer {
        let optionObject = JSONValue.object(options.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        let optionBytes: [UInt8]
        do { optionBytes = try JSONWriter.write(optionObject) } catch {
            throw CompareError(.usage, "options cannot be written as JSON: \(error.message)")
        }
        do { return try infer(model: model, inputs: inputs, options: Data(optionBytes)) } catch { throw CompareError(error) }
    }

    /// The models the agent serves: `GET /v2/repository/index`, else (an older agent without it)
    /// the enabled models of `GET /v2/models`.
    public func servedModels() throws(CompareError) -> [ModelStatus] {
        do {
            return try repositoryIndex()
        } catch let error where error.code == .notFound {
            // An agent from before the repository extension: fall back to the model list below.
        } catch {
            throw CompareError(error)
        }
        do {
            return try models().models.filter(\.enabled).map { summary in
                ModelStatus(state: summary.ready ? "READY" : "UNAVAILABLE", name: summary.name, version: summary.versions.first ?? "",
                            reason: summary.ready ? nil : summary.state, config: "", checkpoint: "", instances: [], queued: 0, queueLimit: 0)
            }
        } catch {
            throw CompareError(error)
        }
    }
}

extension ModelStatus {
    /// The longest load among the instances (each worker's `ready.load_s`), when known.
    var longestLoadSeconds: Double? { instances.compactMap(\.loadSeconds).max() }

    /// GPU memory the instances last reported holding, summed; nil when none reported any.
    var instancesGPUMemoryMiB: Double? {
        let memory = instances.compactMap(\.gpuMemoryMiB)
        return memory.isEmpty ? nil : memory.reduce(0, +)
    }
}
