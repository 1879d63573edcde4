/// podagent's own log file as /health shows it: still writing, or stopped after a write failed.
public struct LogFileStatus: Sendable, Codable, Equatable {
    public var path: String
    /// `writing`, or `stopped` after a write failed.
    public var state: String
    /// Why it stopped (the failing step and errno's text).
    public var error: String?
    /// Lines not written since it stopped.
    public var dropped_lines: Int

    public init(path: String, state: String, error: String?, dropped_lines: Int) {
        (self.path, self.state, self.error, self.dropped_lines) = (path, state, error, dropped_lines)
    }
}
