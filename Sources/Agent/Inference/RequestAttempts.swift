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
import Logging
import Plugins

/// One request's attempts on a leased instance: a worker that died mid-request is restarted and the
/// request retried (up to the manifest's `retries`, with backoff); a deadline ends the worker's group
/// and answers `.timeout`; `bad_input` is never retried. Every failed attempt is logged once.
struct RequestAttempts {
    struct Answer {
        var raw: JSONValue
        var inferenceSeconds: Double
        var gpuMemoryMiB: Double?
        var attempts: Int
        var instance: Int
    }

    /// How one attempt ended.
    enum Attempt {
        case answered(raw: JSONValue, inferenceSeconds: Double, gpuMemoryMiB: Double?)
        case failed(WorkerProcess.Failure)
        case cancelled
    }

    let request: InferenceRequest
    let pool: ModelPool
    let settings: EngineSettings
    let timeout: Duration
    let retries: Int

    var model: String { pool.manifest.name }

    /// Runs the request on `lease` until it succeeds or fails for good; the lease is given back
    /// (or handed to a background restart) before this returns or throws.
    func run(_ lease: inout ModelPool.Lease) async throws(AgentError) -> Answer {
        var attempt = 1
        while true {
            let outcome = await once(lease)
            switch outcome {
            case .answered(let raw, let seconds, let memory):
                await pool.release(lease, gpuMemoryMiB: memory)
                return Answer(raw: raw, inferenceSeconds: seconds, gpuMemoryMiB: memory, attempts: attempt, instance: lease.index)
            case .cancelled:
                logFailure(attempt: attempt, kind: "cancelled", detail: "the caller cancelled the running request; the worker's process group was ended")
                await reclaim(lease)
                await pool.restartInBackground(lease, reason: "request \(request.id) was cancelled while running", countsAsCrash: false)
                throw AgentError(.cancelled, "request \(request.id) was cancelled while running on \(model) instance \(lease.index); the worker was ended and is restarting")
            case .failed(.timedOut(let limit)):
                logFailure(attempt: attempt, kind: "timeout", detail: "no answer within \(limit)")
                await reclaim(lease)
                await pool.restartInBackground(lease, reason: "request \(request.id) timed out after \(limit)", countsAsCrash: false)
                throw AgentError(
                    .timeout,
                    "model \(model) did not answer request \(request.id) within \(limit): its worker's process group was ended (SIGTERM, then SIGKILL after \(settings.killGrace)) and the worker is restarting")
            case .failed(.answered(let kind, let message, let traceback)):
                logFailure(attempt: attempt, kind: kind, detail: traceback.isEmpty ? message : "\(message)\n\(traceback)")
                await pool.release(lease)
                if kind == "bad_input" { throw AgentError(.invalidArgument, "model \(model): bad input: \(message)") }
                throw AgentError(.internalError, "model \(model) failed (\(kind)): \(message)")
            case .failed(let failure):
                // The worker died, or broke the protocol: transient. Restart it and try again.
                let reason = ModelPool.describe(failure)
                logFailure(attempt: attempt, kind: "worker_failed", detail: reason)
                await reclaim(lease)
                if let unloaded = await pool.endedByUnload(lease) {
                    // An unload that cancels running requests ended this worker: no retry, a clear 503.
                    await pool.restartInBackground(lease, reason: reason, countsAsCrash: false)
                    throw AgentError(.unavailable, "request \(request.id): \(unloaded)")
                }
                guard attempt <= retries else {
                    await pool.restartInBackground(lease, reason: reason, countsAsCrash: true)
                    throw AgentError(.unavailable, "model \(model): the worker failed on each of \(attempt) attempts; last: \(reason)")
                }
                let delay = settings.retryBackoff * (1 << min(attempt - 1, 10))
                if delay > .zero { try? await Task.sleep(for: delay) }
                if Task.isCancelled {
                    await pool.restartInBackground(lease, reason: reason, countsAsCrash: true)
                    throw AgentError(.cancelled, "request \(request.id) was cancelled between retries")
                }
                lease = try await pool.restart(lease, reason: reason, countsAsCrash: true)
                attempt += 1
            }
        }
    }

    private func once(_ lease: ModelPool.Lease) async -> Attempt {
        guard let worker = lease.worker else {
            let run = OneshotRun(lease: lease, settings: settings, model: model)
            switch await run.run(requestID: request.id, inputs: request.inputs, timeout: timeout) {
            case .raw(let data, let seconds):
                do {
                    return .answered(raw: try JSONReader.parse(Array(data), source: "\(model) oneshot output"), inferenceSeconds: seconds, gpuMemoryMiB: nil)
                } catch {
                    return .failed(.answered(kind: "model_error", message: "the oneshot output is not JSON: \(error.message)", traceback: ""))
                }
            case .failed(let failure): return .failed(failure)
            case .cancelled: return .cancelled
            }
        }
        let message: JSONValue
        do {
            message = try await worker.inferMessage(id: request.id, inputs: request.inputs, options: request.workerOptions, timeout: timeout)
        } catch {
            if Task.isCancelled, error != .timedOut(timeout) {
                // The answer stream ended with the task; end the worker (outside the cancelled task, so the grace holds).
                await Task { await worker.stop() }.value
                return .cancelled
            }
            return .failed(error)
        }
        guard let raw = message["raw"] else {
            return .failed(.protocolViolation("\(model): the result has no 'raw'"))
        }
        return .answered(
            raw: raw, inferenceSeconds: message["timings"]?["inference_s"]?.numberValue ?? 0,
            gpuMemoryMiB: message["gpu_memory_mib"]?.numberValue)
    }

    /// Tells the reclaim hook that the worker's group was ended, after making sure it is.
    private func reclaim(_ lease: ModelPool.Lease) async {
        guard let worker = lease.worker else { return }  // oneshot runs report their own groups
        let group = await worker.processGroup
        await Task { await worker.stop() }.value  // no-op when it already ended
        guard let group else { return }
        kill(-group, SIGKILL)  // descendants that outlived a crashed leader
        await settings.onWorkerKilled(model, group)
    }

    private func logFailure(attempt: Int, kind: String, detail: String) {
        settings.logger.error("inference attempt failed", metadata: [
            "model": "\(model)", "request_id": "\(request.id)", "attempt": "\(attempt)", "kind": "\(kind)", "detail": "\(detail)",
        ])
        do {
            try settings.failures?.record(model: model, requestID: request.id, attempt: attempt, kind: kind, message: detail, traceback: nil)
        } catch {
            settings.logger.warning("could not keep the failure for diagnose", metadata: ["error": "\(error.message)"])
        }
    }
}
