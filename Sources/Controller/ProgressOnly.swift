import Foundation
import SSHClient

/// Only counts finished pods for the progress line (gather mode prints at the end).
public final class ProgressOnly: OutputSink {
    private let progress: ProgressLine?
    public init(progress: ProgressLine?) { self.progress = progress }
    public func output(pod: Pod, stream: SSHClient.OutputStream, bytes: [UInt8]) {}
    public func finished(_ result: PodResult) { progress?.finished(result) }
}
