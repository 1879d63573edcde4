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
import PodAgentExtras

/// Runs a short command to completion through the ``Supervisor``, with a deadline and bounded output.
///
/// Used for probes (nvidia-smi), `sshd -t`, `ssh-keygen`: a hung command never blocks the caller
/// past `timeout`; its whole process group is killed.
public struct CommandRunner: Sendable {
    /// The outcome of one run.
    public struct Output: Sendable {
        public var status: ExitStatus
        public var stdout: String
        public var stderr: String
    }

    let supervisor: Supervisor
    /// Output beyond this many bytes per stream is dropped (the command keeps running to its end).
    public var outputLimit = 4 << 20

    public init(supervisor: Supervisor) {
        self.supervisor = supervisor
    }

    /// Runs `spec` (its stdout and stderr are captured) and waits at most `timeout`.
    /// - Throws: ``AgentError`` `.timeout` naming the command when the deadline passes, `.spawnFailed` when it cannot start.
    public func run(_ spec: ProcessSpec, timeout: Duration) async throws(AgentError) -> Output {
        var spec = spec
        spec.stdout = .pipe
        spec.stderr = .pipe
        spec.newProcessGroup = true
        let child = try supervisor.spawn(spec)
        let limit = outputLimit
        async let out = PipeReader.readAll(child.stdout, limit: limit)
        async let err = PipeReader.readAll(child.stderr, limit: limit)

        let finished = await withTaskGroup(of: ExitStatus?.self) { group in
            group.addTask { await child.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil {
                // The deadline passed: end the whole group so the wait task and the readers finish.
                child.signalGroup(SIGKILL)
            }
            group.cancelAll()
            return first
        }
        let stdout = await out
        let stderr = await err
        guard let status = finished else {
            throw AgentError(.timeout, "\(spec.executable) did not finish within \(timeout) and was killed")
        }
        child.signalGroup(SIGKILL)  // descendants that outlived the leader would hold the pipes
        return Output(status: status, stdout: stdout, stderr: stderr)
    }
}

/// Blocking pipe reads on a thread of their own, so the cooperative pool never blocks.
enum PipeReader {
    /// Reads until EOF, keeping at most `limit` bytes, decoded as UTF-8 (invalid bytes replaced).
    static func readAll(_ handle: DescriptorHandle?, limit: Int) async -> String {
        guard let handle else { return "" }
        return await withCheckedContinuation { continuation in
            NativeThread.start(name: "podagent-pipe") {
                var data = Data()
                while let chunk = readChunk(handle.fileDescriptor) {
                    if data.count < limit { data.append(chunk.prefix(limit - data.count)) }
                }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }

    /// Calls `line` for each line until EOF, on a thread of its own; `done` after EOF.
    static func forEachLine(_ handle: DescriptorHandle, line: @escaping @Sendable (String) -> Void, done: @escaping @Sendable () -> Void = {}) {
        NativeThread.start(name: "podagent-lines") {
            var buffer = Data()
            while let chunk = readChunk(handle.fileDescriptor) {
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    line(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            if !buffer.isEmpty { line(String(decoding: buffer, as: UTF8.self)) }
            done()
        }
    }
}

/// One blocking read; nil at EOF or on an error other than EINTR.
func readChunk(_ fd: Int32) -> Data? {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count > 0 { return Data(buffer[0..<count]) }
        if count < 0, errno == EINTR { continue }
        return nil
    }
}
