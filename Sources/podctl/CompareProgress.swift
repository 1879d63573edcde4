import Compare
import Controller
import Foundation
import Synchronization

/// `[done/total, N failed]` on stderr while a comparison runs; only on a terminal.
final class CompareProgress: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    static func onTerminal() -> CompareProgress? { OutputWriter.stderr.isTerminal ? CompareProgress() : nil }

    func update(done: Int, total: Int, failed: Int) {
        last.withLock { last in
            let now = ContinuousClock.now
            guard done == total || last.map({ now - $0 > .milliseconds(100) }) ?? true else { return }
            last = now
            OutputWriter.stderr.write("\r\u{1B}[K[\(done)/\(total) requests, \(failed) failed]")
        }
    }

    func clear() { OutputWriter.stderr.write("\r\u{1B}[K") }
}
