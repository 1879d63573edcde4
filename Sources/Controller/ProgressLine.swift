import Foundation
import Synchronization

/// `done/total, N failed` on stderr while a long fan-out runs; only on a terminal.
public final class ProgressLine: Sendable {
    struct State { var done = 0; var failed = 0; var shown = false; var last = ContinuousClock.now }
    private let state = Mutex(State())
    private let total: Int
    private let writer: OutputWriter

    /// Nil when stderr is not a terminal: piped output gets nothing extra.
    public static func onTerminal(total: Int, writer: OutputWriter = .stderr) -> ProgressLine? {
        writer.isTerminal ? ProgressLine(total: total, writer: writer) : nil
    }

    init(total: Int, writer: OutputWriter) {
        self.total = total
        self.writer = writer
    }

    func finished(_ result: PodResult) {
        state.withLock { state in
            state.done += 1
            if result.status != .ok { state.failed += 1 }
            let now = ContinuousClock.now
            guard state.done == total || now - state.last > .milliseconds(100) else { return }
            state.last = now
            state.shown = true
            writer.write("\r\u{1B}[K[\(state.done)/\(total) done, \(state.failed) failed]")
        }
    }

    /// Erases the line (before other output, and at the end).
    public func clear() {
        state.withLock { state in
            if state.shown { writer.write("\r\u{1B}[K") }
            state.shown = false
        }
    }
}
