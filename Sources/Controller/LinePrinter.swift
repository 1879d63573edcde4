import Foundation
import SSHClient
import Synchronization

/// Streams `name: line` as lines complete: stdout lines to stdout, stderr lines to stderr.
///
/// Each chunk is scanned once and a partial line is held only up to 64 KiB (longer lines are printed in
/// pieces, each with the prefix), so time is linear and memory bounded per pod whatever the pod prints.
/// Control characters go through `filter` (see `OutputFilter`).
public final class LinePrinter: OutputSink {
    struct Key: Hashable { var name: String; var stderr: Bool }
    private let splitters = Mutex<[Key: LineSplitter]>([:])
    private let lock = Mutex(())
    private let out: OutputWriter
    private let err: OutputWriter
    private let progress: ProgressLine?
    private let filter: OutputFilter
    private let maxPending: Int

    public convenience init(out: OutputWriter = .stdout, err: OutputWriter = .stderr, progress: ProgressLine? = nil,
                            filter: OutputFilter = .safe) {
        self.init(out: out, err: err, progress: progress, filter: filter, maxPending: LineSplitter.defaultMaxPending)
    }

    init(out: OutputWriter, err: OutputWriter, progress: ProgressLine?, filter: OutputFilter, maxPending: Int) {
        self.out = out
        self.err = err
        self.progress = progress
        self.filter = filter
        self.maxPending = maxPending
    }

    public func output(pod: Pod, stream: SSHClient.OutputStream, bytes: [UInt8]) {
        let key = Key(name: pod.name, stderr: stream == .stderr)
        // Each pod's chunks arrive from one thread at a time: its splitter is taken out while in use,
        // so pods never wait for each other's scanning.
        var splitter = splitters.withLock { $0.removeValue(forKey: key) }
            ?? LineSplitter(maxPending: maxPending, splitOnCarriageReturn: filter == .safe)
        var text: [UInt8] = []
        let prefix = Array("\(pod.name): ".utf8)
        splitter.feed(bytes) { line in
            text.append(contentsOf: prefix)
            filter.append(line, to: &text)
            text.append(0x0A)
        }
        splitters.withLock { $0[key] = splitter }
        if !text.isEmpty { emit(text, stderr: key.stderr) }
    }

    public func finished(_ result: PodResult) {
        for isStderr in [false, true] {
            let key = Key(name: result.pod.name, stderr: isStderr)
            guard var splitter = splitters.withLock({ $0.removeValue(forKey: key) }) else { continue }
            var text: [UInt8] = []
            splitter.finish { line in
                text.append(contentsOf: Array("\(result.pod.name): ".utf8))
                filter.append(line, to: &text)
                text.append(0x0A)
            }
            // Kept (empty now) for `statistics`.
            splitters.withLock { $0[key] = splitter }
            if !text.isEmpty { emit(text, stderr: isStderr) }
        }
        // Under the write lock: a redraw between another pod's clear and its line would glue the two together.
        lock.withLock { _ in progress?.finished(result) }
    }

    /// Work and memory so far for `pod`'s stream (bytes scanned, most bytes held), for the tests.
    func statistics(pod: String, stderr: Bool = false) -> (scanned: Int, peakPending: Int)? {
        splitters.withLock { $0[Key(name: pod, stderr: stderr)].map { ($0.scanned, $0.peakPending) } }
    }

    private func emit(_ text: [UInt8], stderr: Bool) {
        lock.withLock { _ in
            progress?.clear()
            (stderr ? err : out).write(text)
        }
    }
}
