/// When to restart a child that exited: at once the first time, then after 100 ms doubling up to
/// 30 s while it keeps dying young; a run that lasted `resetAfter` starts the sequence over.
struct RestartBackoff: Sendable, Equatable {
    var initial: Duration = .milliseconds(100)
    var maximum: Duration = .seconds(30)
    var resetAfter: Duration = .seconds(60)
    /// Restarts since the last long enough run.
    private(set) var consecutive = 0

    /// The delay before the next start, given how long the run that just ended lasted.
    mutating func next(afterRunning uptime: Duration) -> Duration {
        if uptime >= resetAfter { consecutive = 0 }
        defer { consecutive += 1 }
        guard consecutive > 0 else { return .zero }
        var delay = initial
        for _ in 1..<consecutive {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }
}
