import CShims
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
import Synchronization

/// One warm model worker: a process speaking docs/worker-protocol.md (one JSON object per line, and
/// from protocol 2 on binary tensor frames after a result line) over its stdin and stdout, started
/// through the ``Supervisor`` in a process group of its own.
///
/// One request is in flight at a time. A request past its deadline ends the worker's whole process
/// group (SIGTERM, then SIGKILL after the grace period); the caller restarts the worker.
public actor WorkerProcess {
    /// The highest worker protocol podagent reads, offered to each worker in `PODAGENT_PROTOCOL`
    /// (2: tensor frames after a result line).
    public static let protocolVersion = 2
    /// The most bytes one answer (its line and its tensor frames) may hold unless the launch says otherwise.
    public static let defaultAnswerLimit = 256 << 20

    /// How to start the worker.
    public struct Launch: Sendable {
        public var name: String
        public var executable: String
        public var arguments: [String]
        public var environment: [String: String]
        /// How long loading may take before the worker is killed.
        public var readyTimeout: Duration
        /// SIGTERM → SIGKILL grace when the worker must be stopped.
        public var killGrace: Duration
        /// The user the worker runs as; nil keeps podagent's own.
        public var identity: ProcessIdentity?
        /// The most bytes one answer may hold (its line plus its tensor frames); more is a protocol violation.
        public var answerLimit: Int

        /// `environment` gets `PODAGENT_PROTOCOL` (``WorkerProcess/protocolVersion``) unless it sets it.
        public init(
            name: String, executable: String, arguments: [String], environment: [String: String],
            readyTimeout: Duration = .seconds(600), killGrace: Duration = .seconds(5), identity: ProcessIdentity? = nil,
            answerLimit: Int = WorkerProcess.defaultAnswerLimit
        ) {
            self.name = name
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.readyTimeout = readyTimeout
            self.killGrace = killGrace
            self.identity = identity
            self.answerLimit = answerLimit
            if self.environment["PODAGENT_PROTOCOL"] == nil { self.environment["PODAGENT_PROTOCOL"] = String(WorkerProcess.protocolVersion) }
            identity?.apply(to: &self.environment)
        }
    }

    /// What the worker said when it was ready.
    public struct Ready: Sendable, Equatable {
        public var pid: Int32
        public var loadSeconds: Double
        public var gpuMemoryMiB: Double?
        /// The uid the worker says it runs as (`ready.uid`); nil from a worker that does not say.
        public var uid: Int? = nil
        /// The protocol the worker speaks (`ready.protocol`): 1 plain JSON, 2 tensor frames too.
        public var protocolVersion: Int = 1
    }

    /// Why a worker could not answer.
    public enum Failure: Error, Sendable, Equatable {
        /// The process ended (crash, kill); transient: restart and retry.
        case exited(ExitStatus, stderrTail: String)
        /// The deadline passed; the process group was ended.
        case timedOut(Duration)
        /// The worker could not load its model.
        case loadFailed(message: String, traceback: String)
        /// The worker answered with an error (`bad_input`, `model_error`, `oom`, `protocol`).
        case answered(kind: String, message: String, traceback: String)
        /// The worker wrote something that is not the protocol, or is not running.
        case protocolViolation(String)
    }

    private enum Event: Sendable {
        case output(WorkerOutputReader.Item)
        case exited(ExitStatus)
        case deadline(UInt64)
    }

    public let launch: Launch
    private let supervisor: Supervisor
    private let logger: Logger
    private var child: Child?
    private var events: AsyncStream<Event>.AsyncIterator?
    private var continuation: AsyncStream<Event>.Continuation?
    private var deadlineToken: UInt64 = 0
    /// What the running worker said it speaks in its `ready` line.
    private var protocolVersion = 1
    private let stderrTail = LineTail(limit: 40)

    public init(launch: Launch, supervisor: Supervisor, logger: Logger) {
        self.launch = launch
        self.supervisor = supervisor
        self.logger = logger
        // A worker that dies between two requests must surface as EPIPE, not kill podagent.
        pa_ignore_sigpipe()
    }

    /// The worker's process id while it runs.
    public var pid: Int32? { child?.exitStatus == nil ? child?.pid : nil }

    /// The process group of the last start (== the worker's pid), kept after it ends so the group
    /// can be checked and reclaimed.
    public private(set) var processGroup: Int32?
    private var exitWaiter: Child?

    /// Waits until the process started last ends; nil when it was never started.
    public func waitForExit() async -> ExitStatus? {
        guard let exitWaiter else { return nil }
        return await exitWaiter.wait()
    }

    /// Starts the process and waits for its `ready` line.
    public func start() async throws(Failure) -> Ready {
        guard child == nil else { throw .protocolViolation("\(launch.name): already started") }
        let spec = ProcessSpec(
            executable: launch.executable, arguments: launch.arguments, environment: launch.environment,
            stdin: .pipe, stdout: .pipe, stderr: .pipe, identity: launch.identity)
        let started: Child
        do {
            started = try supervisor.spawn(spec)
        } catch {
            let user = launch.identity.map { " as \($0) (the workers' user must be able to reach and run it; inference.user)" } ?? ""
            throw .protocolViolation("\(launch.name): cannot start\(user): \(error.message)")
        }
        child = started
        exitWaiter = started
        processGroup = started.processGroup ?? started.pid
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        self.events = stream.makeAsyncIterator()
        self.continuation = continuation
        if let stdout = started.stdout {
            WorkerOutputReader.start(stdout, limit: launch.answerLimit) { continuation.yield(.output($0)) }
        }
        if let stderr = started.stderr {
            let tail = stderrTail
            let logger = logger
            let name = launch.name
            PipeReader.forEachLine(stderr) { line in
                tail.append(line)
                logger.info("\(line)", metadata: ["worker": "\(name)"])
            }
        }
        Task { continuation.yield(.exited(await started.wait())) }

        protocolVersion = 1
        let message = try await nextMessage(deadline: launch.readyTimeout) { _ in true }
        switch message["type"]?.stringValue {
        case "ready":
            let spoken = message["protocol"]?.numberValue.map { Int(exactly: $0) ?? 0 } ?? 1
            guard (1...Self.protocolVersion).contains(spoken) else {
                await stop()
                throw .protocolViolation("\(launch.name): the worker speaks protocol \(spoken); podagent offered 1 to \(Self.protocolVersion)")
            }
            protocolVersion = spoken
            // Exact conversions: a made-up pid or uid (1e300, NaN) is ignored, never a trap.
            return Ready(
                pid: message["pid"]?.numberValue.flatMap { Int32(exactly: $0) } ?? started.pid,
                loadSeconds: message["load_s"]?.numberValue ?? 0,
                gpuMemoryMiB: message["gpu_memory_mib"]?.numberValue,
                uid: message["uid"]?.numberValue.flatMap { Int(exactly: $0) }, protocolVersion: spoken)
        case "fatal":
            await stop()
            throw .loadFailed(message: message["message"]?.stringValue ?? "unknown", traceback: message["traceback"]?.stringValue ?? "")
        default:
            await stop()
            throw .protocolViolation("\(launch.name): expected 'ready', got \(message["type"]?.stringValue ?? "nothing")")
        }
    }

    /// Sends one request and returns the worker's `result` message as JSON bytes (tensor frames
    /// written as the lists they hold, NaN as null).
    /// - Parameters:
    ///   - inputs: a JSON object (bytes) for the request's `inputs`.
    ///   - options: a JSON object (bytes) for its `options`.
    public func infer(id: String, inputs: Data, options: Data, timeout: Duration) async throws(Failure) -> Data {
        let message = try await exchange(id: id, inputs: inputs, options: options, timeout: timeout)
        do throws(PluginError) {
            return Data(try JSONWriter.write(message, nonFiniteAsNull: true))
        } catch {
            throw .protocolViolation("\(launch.name): \(error.message)")
        }
    }

    /// Like ``infer(id:inputs:options:timeout:)``, returning the `result` message already read, its
    /// tensor frames in place in `raw` as ``JSONValue/tensor(_:)`` (the engine's path: the answer is read once).
    public func inferMessage(id: String, inputs: Data, options: Data, timeout: Duration) async throws(Failure) -> JSONValue {
        try await exchange(id: id, inputs: inputs, options: options, timeout: timeout)
    }

    private func exchange(id: String, inputs: Data, options: Data, timeout: Duration) async throws(Failure) -> JSONValue {
        guard let child, child.exitStatus == nil, let stdin = child.stdin else {
            throw .protocolViolation("\(launch.name): not running")
        }
        // One buffer of the line's size: each piece appended through a `Data` of its own cost an
        // allocation and a copy apiece on every request.
        let idText = Self.jsonText(id)
        var request = Data(capacity: 40 + idText.count + inputs.count + options.count)
        request.append(contentsOf: #"{"type":"infer","id":"#.utf8)
        request.append(contentsOf: idText)
        request.append(contentsOf: #","inputs":"#.utf8)
        request.append(inputs)
        request.append(contentsOf: #","options":"#.utf8)
        request.append(options)
        request.append(contentsOf: "}\n".utf8)
        do {
            try stdin.write(contentsOf: request)
        } catch {
            // The worker is gone; its exit event says how.
            _ = try await nextMessage(deadline: launch.killGrace) { _ in false }
        }
        let message = try await nextMessage(deadline: timeout) { object in
            object["id"]?.stringValue == id
        }
        switch message["type"]?.stringValue {
        case "result":
            return message
        case "error":
            throw .answered(
                kind: message["kind"]?.stringValue ?? "model_error", message: message["message"]?.stringValue ?? "",
                traceback: message["traceback"]?.stringValue ?? "")
        default:
            throw .protocolViolation("\(launch.name): unexpected answer type \(message["type"]?.stringValue ?? "none")")
        }
    }

    /// Asks the worker to exit, then ends its process group after the grace period.
    public func stop() async {
        guard let child else { return }
        if child.exitStatus == nil, let stdin = child.stdin {
            try? stdin.write(contentsOf: Data(#"{"type":"shutdown"}"#.utf8 + [UInt8(ascii: "\n")]))
            stdin.close()
        }
        await child.terminate(grace: launch.killGrace)
        continuation?.finish()
        self.child = nil
    }

    /// Waits for the next protocol message that `matches`, the worker's exit, or the deadline.
    private func nextMessage(deadline: Duration, matches: (JSONValue) -> Bool) async throws(Failure) -> JSONValue {
        deadlineToken &+= 1
        let token = deadlineToken
        let continuation = self.continuation
        // On the loop the request runs on: set and cancelled per request without a task or a thread.
        let timer = LoopTimer(after: deadline) { continuation?.yield(.deadline(token)) }
        defer { timer.cancel() }
        guard var iterator = events else { throw .protocolViolation("\(launch.name): not started") }
        defer { events = iterator }
        while let event = await iterator.next(isolation: self) {
            switch event {
            case .output(.violation(let problem)):
                throw .protocolViolation("\(launch.name): \(problem)")
            case .output(.message(let object, let framed)):
                if framed, protocolVersion < 2 {
                    throw .protocolViolation("\(launch.name): tensor frames from a worker that said it speaks protocol \(protocolVersion)")
                }
                if matches(object) { return object }
            case .exited(let status):
                child = nil
                throw .exited(status, stderrTail: stderrTail.text)
            case .deadline(let expired) where expired == token:
                logger.warning("worker past its deadline: ending its process group", metadata: ["worker": "\(launch.name)"])
                await stop()
                throw .timedOut(deadline)
            case .deadline:
                continue  // an older request's timer
            }
        }
        throw .protocolViolation("\(launch.name): output closed")
    }

    /// `value` as a JSON string (written directly: a `JSONEncoder` per request cost more than the rest of the line).
    static func jsonText(_ value: String) -> [UInt8] {
        (try? JSONWriter.write(.string(value))) ?? Array(#""""#.utf8)
    }
}

/// The last lines of a stream, for error reports.
final class LineTail: Sendable {
    private let lines = Mutex<[String]>([])
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func append(_ line: String) {
        lines.withLock { lines in
            lines.append(line)
            if lines.count > limit { lines.removeFirst(lines.count - limit) }
        }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}
