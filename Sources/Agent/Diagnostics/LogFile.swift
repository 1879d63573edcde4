import Foundation
import Synchronization

/// podagent's own log file (JSON lines) in the state directory, so `podagent diagnose` has a log tail
/// to bundle even though the console log goes to stderr. Bounded: past ``maxBytes`` the file becomes
/// `<file>.1` (replacing the older one) and a new file starts.
public final class LogFile: Sendable {
    public static let defaultName = "podagent.log"
    public let path: String
    let maxBytes: UInt64
    private let handle = Mutex<FileHandle?>(nil)

    /// Opens (or creates, mode 0600) `path` for appending.
    /// - Throws: ``AgentError`` `.system` when it cannot be opened.
    public init(path: String, maxBytes: UInt64 = 8 << 20) throws(AgentError) {
        self.path = path
        self.maxBytes = maxBytes
        let opened = try Self.open(path)
        handle.withLock { $0 = opened }
    }

    /// The file podagent logs to: `log.file`, else `<state_dir>/podagent.log`; nil when set to `off`.
    public static func resolve(configured: String?, stateDir: String) -> String? {
        guard let configured else { return stateDir + "/" + defaultName }
        let trimmed = configured.trimmingCharacters(in: .whitespaces)
        return ["", "off", "none", "false", "no"].contains(trimmed.lowercased()) ? nil : trimmed
    }

    /// Appends one line (a newline is added).
    public func append(_ line: Data) {
        handle.withLock { handle in
            guard let current = handle else { return }
            var data = line
            data.append(UInt8(ascii: "\n"))
            current.seekToEndOfFile()
            current.write(data)
            if current.offsetInFile >= maxBytes {
                try? current.close()
                _ = rename(path, path + ".1")
                handle = try? Self.open(path)
            }
        }
    }

    private static func open(_ path: String) throws(AgentError) -> FileHandle {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AgentError(.system, "log file \(path): cannot open: \(String(cString: strerror(errno)))") }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
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
