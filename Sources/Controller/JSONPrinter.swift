import Foundation
import SSHClient
import Synchronization

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
