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
import Synchronization
import PodAgentExtras

/// podagent's own log file (JSON lines) in the state directory, so `podagent diagnose` has a log tail
/// to bundle even though the console log goes to stderr. Bounded: past ``maxBytes`` the file becomes
/// `<file>.1` (replacing the older one) and a new file starts.
///
/// A write that fails (a full disk, an I/O error) stops the file for good: podagent says so once on
/// stderr, `/health` shows it (``status``), and logging goes on on stderr only. The log never takes
/// the agent down with it.
public final class LogFile: Sendable {
    public static let defaultName = "podagent.log"
    public let path: String
    let maxBytes: UInt64
    /// Where the "stopped writing" notice goes (stderr; a test may catch it).
    private let report: @Sendable (String) -> Void

    private struct State {
        var fd: Int32 = -1
        var size: UInt64 = 0
        var stopped: String?
        var dropped = 0
    }
    private let state = Mutex(State())

    /// What `/health` shows about the log file.
    public typealias Status = LogFileStatus

    /// Opens (or creates, mode 0600) `path` for appending.
    /// - Throws: ``AgentError`` `.system` when it cannot be opened.
    public init(path: String, maxBytes: UInt64 = 8 << 20, report: @escaping @Sendable (String) -> Void = StandardStream.writeError) throws(AgentError) {
        self.path = path
        self.maxBytes = maxBytes
        self.report = report
        let fd = try Self.open(path)
        var info = stat()
        let size = fstat(fd, &info) == 0 ? UInt64(max(0, info.st_size)) : 0
        state.withLock { $0.fd = fd; $0.size = size }
    }

    deinit {
        let fd = state.withLock { $0.fd }
        if fd >= 0 { close(fd) }
    }

    /// The file podagent logs to: `log.file`, else `<state_dir>/podagent.log`; nil when set to `off`.
    public static func resolve(configured: String?, stateDir: String) -> String? {
        guard let configured else { return stateDir + "/" + defaultName }
        let trimmed = configured.trimmingSpace(newlines: false)
        return ["", "off", "none", "false", "no"].contains(trimmed.lowercased()) ? nil : trimmed
    }

    /// Appends one line (a newline is added); after a failed write, counts it as dropped instead.
    public func append(_ line: Data) {
        var data = line
        data.append(UInt8(ascii: "\n"))
        let notice = state.withLock { (state: inout State) -> String? in
            guard state.stopped == nil, state.fd >= 0 else {
                state.dropped += 1
                return nil
            }
            if let failure = Self.writeAll(state.fd, data) {
                return stop(&state, because: "write: \(failure)")
            }
            state.size += UInt64(data.count)
            guard state.size >= maxBytes else { return nil }
            close(state.fd)
            state.fd = -1
            if rename(path, path + ".1") != 0 {
                return stop(&state, because: "rotate to \(path).1: \(String(cString: strerror(errno)))")
            }
            do throws(AgentError) {
                state.fd = try Self.open(path)
                state.size = 0
            } catch {
                return stop(&state, because: error.message)
            }
            return nil
        }
        if let notice { report(notice) }
    }

    /// Whether the file is still written, and why not.
    public var status: Status {
        state.withLock { Status(path: path, state: $0.stopped == nil ? "writing" : "stopped", error: $0.stopped, dropped_lines: $0.dropped) }
    }

    /// Closes the file and returns the one line stderr gets.
    private func stop(_ state: inout State, because reason: String) -> String {
        if state.fd >= 0 { close(state.fd) }
        state.fd = -1
        state.stopped = reason
        state.dropped += 1
        return "podagent: log file \(path) stopped writing (\(reason)); logging to stderr only until podagent restarts\n"
    }

    /// Writes all of `data`; nil when it did, else errno's text. POSIX write, not FileHandle.write,
    /// whose failure (ENOSPC, EIO) is a trap.
    private static func writeAll(_ fd: Int32, _ data: Data) -> String? {
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> String? in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += written
            }
            return nil
        }
    }

    private static func open(_ path: String) throws(AgentError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AgentError(.system, "log file \(path): cannot open: \(String(cString: strerror(errno)))") }
        return fd
    }

    /// The last `count` lines of the log (the rotated file first when the current one is short), or nil when there is none.
    public static func tail(path: String, lines count: Int) -> String? {
        let current = lines(of: path)
        let older = (current?.count ?? 0) < count ? (lines(of: path + ".1") ?? []) : []
        guard current != nil || !older.isEmpty else { return nil }
        let all = older + (current ?? [])
        return all.suffix(count).joined(separator: "\n") + "\n"
    }

    private static func lines(of path: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}
