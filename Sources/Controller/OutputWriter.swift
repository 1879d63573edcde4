import Foundation
import SSHClient
import Synchronization

/// Whole writes to a descriptor (retrying short writes), so lines from many pods never interleave.
public struct OutputWriter: Sendable {
    public let fd: Int32

    public static let stdout = OutputWriter(fd: 1)
    public static let stderr = OutputWriter(fd: 2)

    public init(fd: Int32) { self.fd = fd }

    public var isTerminal: Bool { isatty(fd) == 1 }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let written = Glibc.write(fd, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    public func write(_ text: String) { write(Array(text.utf8)) }
}

/// Streams `name: line` as lines complete: stdout lines to stdout, stderr lines to stderr.
///
/// Each chunk is scanned once and a partial line is held only up to 64 KiB (longer lines are printed in
/// pieces, each with the prefix), so time is linear and memory bounded per pod whatever the pod prints.
/// Control characters go through `filter` (see `OutputFilter`).
public final class LinePrinter: OutputSink {
    private struct Key: Hashable { var name: String; var stderr: Bool }
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

/// Prints each pod's JSON record as soon as it finishes.
public final class JSONPrinter: OutputSink {
    private let out: OutputWriter
    private let progress: ProgressLine?
    private let lock = Mutex(())

    public init(out: OutputWriter = .stdout, progress: ProgressLine? = nil) {
        self.out = out
        self.progress = progress
    }

    public func output(pod: Pod, stream: SSHClient.OutputStream, bytes: [UInt8]) {}

    public func finished(_ result: PodResult) {
        let record = result.jsonRecord + "\n"
        lock.withLock { _ in
            progress?.clear()
            out.write(record)
            progress?.finished(result)
        }
    }
}

/// Only counts finished pods for the progress line (gather mode prints at the end).
public final class ProgressOnly: OutputSink {
    private let progress: ProgressLine?
    public init(progress: ProgressLine?) { self.progress = progress }
    public func output(pod: Pod, stream: SSHClient.OutputStream, bytes: [UInt8]) {}
    public func finished(_ result: PodResult) { progress?.finished(result) }
}

/// `done/total, N failed` on stderr while a long fan-out runs; only on a terminal.
public final class ProgressLine: Sendable {
    private struct State { var done = 0; var failed = 0; var shown = false; var last = ContinuousClock.now }
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
