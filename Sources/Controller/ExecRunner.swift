import Foundation
import PodAgentExtras
import SSHClient
import Synchronization

/// Runs one command on many pods through the sliding window.
public enum ExecRunner {
    /// Results come back in the order of `pods`.
    public static func run(pods: [Pod], request: ExecRequest, settings: ConnectionSettings,
                           sink: (any OutputSink)? = nil) -> [PodResult] {
        if let persist = settings.persist {
            return MuxClient(persist).exec(pods: pods, request: request, settings: settings, sink: sink)
        }
        let results = Mutex<[PodResult?]>(Array(repeating: nil, count: pods.count))
        FanOut.run(count: pods.count, width: request.fanout) { index in
            let result = runOne(pods[index], request: request, settings: settings, sink: sink)
            sink?.finished(result)
            results.withLock { $0[index] = result }
        }
        return results.withLock { $0.enumerated().map { $1 ?? PodResult(pod: pods[$0], status: .error) } }
    }

    static func runOne(_ pod: Pod, request: ExecRequest, settings: ConnectionSettings,
                       sink: (any OutputSink)?) -> PodResult {
        let start = ContinuousClock.now
        let session: SSHSession
        do {
            session = try settings.connect(pod)
        } catch {
            var result = PodResult(pod: pod, status: .error)
            result.record(error, connected: false)
            result.connectMs = (ContinuousClock.now - start).inMilliseconds
            result.totalMs = result.connectMs
            return result
        }
        return run(request, on: session, pod: pod, start: start, sink: sink)
    }

    /// Runs the request on `pod`'s session, connected since `start`; any failure from here on happens
    /// after the connection was made.
    static func run(_ request: ExecRequest, on session: SSHSession, pod: Pod, start: ContinuousClock.Instant,
                    sink: (any OutputSink)?) -> PodResult {
        var result = PodResult(pod: pod, status: .error)
        let connected = ContinuousClock.now
        result.connectMs = (connected - start).inMilliseconds
        let kept = KeptOutput(request)
        do {
            let outcome = try session.exec(request.command, timeout: request.timeout) { stream, bytes in
                kept.append(stream, bytes)
                sink?.output(pod: pod, stream: stream, bytes: bytes)
            }
            result.apply(outcome, timeout: request.timeout)
        } catch {
            result.record(error, connected: true)
        }
        result.runMs = (ContinuousClock.now - connected).inMilliseconds
        result.totalMs = (ContinuousClock.now - start).inMilliseconds
        kept.store(in: &result)
        return result
    }
}

/// A pod's stdout and stderr as far as the request keeps them (capped), filled from its session's thread.
final class KeptOutput {
    private var stdout: CappedOutput
    private var stderr: CappedOutput
    private let keep: Bool

    init(_ request: ExecRequest) {
        keep = request.keepOutput
        stdout = CappedOutput(limit: request.maxOutput)
        stderr = CappedOutput(limit: request.maxOutput)
    }

    func append(_ stream: SSHClient.OutputStream, _ bytes: [UInt8]) {
        guard keep else { return }
        if stream == .stdout { stdout.append(bytes) } else { stderr.append(bytes) }
    }

    func store(in result: inout PodResult) {
        (result.stdout, result.stdoutCut) = stdout.result()
        (result.stderr, result.stderrCut) = stderr.result()
    }
}
