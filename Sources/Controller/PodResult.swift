import Foundation
import SSHClient

/// How one pod's run ended.
public enum PodStatus: String, Sendable, Codable {
    case ok, failed
    case timedOut = "timeout"
    case unreachable
    case hostKey = "host-key"
    case auth, error
}

/// Everything known about one pod after a command: what it printed, how it ended, how long it took.
public struct PodResult: Sendable, Codable {
    public var pod: Pod
    public var status: PodStatus
    public var exitCode: Int32?
    public var signal: String?
    /// The error's kind and message when the pod did not run the command to completion.
    public var errorKind: String?
    public var errorMessage: String?
    /// What was kept of the output (all of it, unless the cap dropped the middle: see the cuts).
    public var stdout: [UInt8] = []
    public var stderr: [UInt8] = []
    /// Where the cap (`--max-output`) cut each stream, when it did.
    public var stdoutCut: OutputCut?
    public var stderrCut: OutputCut?
    public var connectMs: Double = 0
    public var runMs: Double = 0
    public var totalMs: Double = 0
    /// After a timeout: whether the remote process group was confirmed gone.
    public var remoteKilled = false
    /// With `--persist`: how the session was had (`new`, `kept`, `reconnected`); nil without the mux.
    public var session: String?

    public init(pod: Pod, status: PodStatus) {
        self.pod = pod
        self.status = status
    }

    /// Fills status and error from a libssh failure. `connected`: whether the session was established
    /// before it: a pod that stops answering after that (a channel or command request past the
    /// connect timeout) timed out; only one never reached is unreachable.
    mutating func record(_ error: SSHError, connected: Bool) {
        switch error.kind {
        case .connect: status = .unreachable
        case .timeout: status = connected ? .timedOut : .unreachable
        case .hostKeyUnknown, .hostKeyChanged, .knownHosts: status = .hostKey
        case .auth: status = .auth
        case .channel, .io, .sftp, .forward: status = .error
        }
        errorKind = error.kind.rawValue
        errorMessage = status == .timedOut ? "stopped answering after connecting: \(error.message)" : error.message
    }

    /// Fills status and exit details from how the command ended.
    mutating func apply(_ outcome: ExecOutcome, timeout: Double?) {
        exitCode = outcome.exitStatus
        signal = outcome.exitSignal
        remoteKilled = outcome.remoteKilled
        if outcome.timedOut {
            status = .timedOut
            errorKind = "timeout"
            errorMessage = "no result after \(timeout ?? 0) s; remote process group "
                + (outcome.remoteKilled ? "killed" : "could not be confirmed killed")
        } else {
            status = outcome.exitStatus == 0 ? .ok : .failed
        }
    }

    /// The number `-S` folds into the run's exit status: the remote code, 128+signal, 124 for a
    /// timeout (as timeout(1)), 255 when the command never ran (as ssh).
    public var scriptCode: Int32 {
        switch status {
        case .ok: return 0
        case .failed:
            if let exitCode { return exitCode }
            return 128 + (signal.flatMap(Self.signalNumbers.get) ?? 0)
        case .timedOut: return 124
        default: return 255
        }
    }

    private static let signalNumbers = SignalTable()

    /// One JSON line for `--json`.
    public var jsonRecord: String {
        var record: [String: Any] = [
            "name": pod.name, "host": pod.host, "port": pod.port, "status": status.rawValue,
            "stdout": String(decoding: stdout, as: UTF8.self), "stderr": String(decoding: stderr, as: UTF8.self),
            "stdout_bytes": stdout.count + (stdoutCut?.dropped ?? 0), "stderr_bytes": stderr.count + (stderrCut?.dropped ?? 0),
            "stdout_dropped": stdoutCut?.dropped ?? 0, "stderr_dropped": stderrCut?.dropped ?? 0,
            "truncated": stdoutCut != nil || stderrCut != nil,
            "connect_ms": (connectMs * 10).rounded() / 10, "run_ms": (runMs * 10).rounded() / 10,
            "total_ms": (totalMs * 10).rounded() / 10,
        ]
        record["exit_code"] = exitCode.map { Int($0) } ?? NSNull()
        record["signal"] = signal ?? NSNull()
        if let errorKind {
            record["error"] = ["kind": errorKind, "message": errorMessage ?? ""]
        } else {
            record["error"] = NSNull()
        }
        if status == .timedOut { record["remote_killed"] = remoteKilled }
        if let session { record["session"] = session }
        guard let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{\"name\":\"\(pod.name)\",\"status\":\"error\"}"
        }
        return Self.escapingC1(data)
    }

    /// JSONSerialization escapes C0 controls but passes DEL and the C1 controls (U+0080-U+009F, e.g. the
    /// one-character CSI U+009B) as they are: written as `\u00XX` the record says the same and cannot
    /// drive a terminal it is printed on.
    static func escapingC1(_ data: Data) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(data.count)
        var index = data.startIndex
        while index < data.endIndex {
            let byte = data[index]
            let next = index + 1 < data.endIndex ? data[index + 1] : 0
            if byte == 0x7F || (byte == 0xC2 && (0x80...0x9F).contains(next)) {
                let scalar = byte == 0x7F ? 0x7F : next
                bytes.append(contentsOf: Array(String(format: "\\u%04x", scalar).utf8))
                index += byte == 0x7F ? 1 : 2
                continue
            }
            bytes.append(byte)
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Signal names as sshd reports them (no SIG prefix) to Linux numbers.
struct SignalTable: Sendable {
    private let table: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11,
        "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
    ]
    func get(_ name: String) -> Int32? { table[name] }
}
