import Foundation

/// What `podctl exec` runs and how.
public struct ExecRequest: Sendable {
    public var command: String
    /// Seconds before the command (and its remote process group) is ended; nil waits forever.
    public var timeout: Double?
    public var fanout: Int
    /// Whether stdout/stderr are kept in the results (for gather, JSON and health).
    public var keepOutput: Bool
    /// Bytes kept per stream and pod when output is kept (the first and the last half); nil keeps all.
    public var maxOutput: Int?

    /// The default cap on kept output: 1 MiB per stream and pod.
    public static let defaultMaxOutput = 1 << 20

    public init(command: String, timeout: Double? = nil, fanout: Int = 64, keepOutput: Bool = true,
                maxOutput: Int? = ExecRequest.defaultMaxOutput) {
        self.command = command
        self.timeout = timeout
        self.fanout = fanout
        self.keepOutput = keepOutput
        self.maxOutput = maxOutput
    }
}
