extension Duration {
    /// The duration in seconds, attoseconds included (for timings, JSON and arithmetic with `Double`s).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in milliseconds.
    public var inMilliseconds: Double { inSeconds * 1000 }

    /// A duration from a number of seconds a person gave (a flag, a config value): negative, NaN and
    /// infinite values become zero rather than trapping, and anything beyond a century is a century.
    public static func seconds(clamping value: Double) -> Duration {
        guard value.isFinite, value > 0 else { return .zero }
        return .milliseconds(Int64(min(value, 3_155_760_000) * 1000))
    }
}
