import Foundation

/// `--persist DURATION` / `PODCTL_PERSIST`: keep sessions in the per-user mux for later commands.
public struct PersistSettings: Sendable, Codable {
    /// Seconds a session may stay idle before the mux closes it.
    public var idle: Double
    /// The mux's directory; nil resolves it from the environment (`MuxDirectory.resolve`).
    public var directory: String?
    /// How to start the mux when none runs; nil means this executable with `mux serve`.
    public var serverCommand: [String]?

    public init(idle: Double, directory: String? = nil, serverCommand: [String]? = nil) {
        self.idle = idle
        self.directory = directory
        self.serverCommand = serverCommand
    }

    /// `30s`, `10m`, `2h`, `1d` or plain seconds; `0`/`off` turns persistence off (nil).
    public static func parseDuration(_ text: String) throws(ControllerError) -> Double? {
        let lowered = text.lowercased().trimmingCharacters(in: .whitespaces)
        if ["0", "off", "no", "false"].contains(lowered) { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(lowered)
        var scale = 1.0
        if let last = number.last, let unit = units[last] {
            scale = unit
            number = number.dropLast()
        }
        guard let value = Double(number), value.isFinite, value > 0 else {
            throw ControllerError(.usage, "'\(text)' is not a duration: give seconds, or a number with s, m, h or d (e.g. 10m), or 'off'")
        }
        return value * scale
    }
}
