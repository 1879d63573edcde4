import Foundation
import SSHClient

/// Receives output as it arrives and each pod's result as it finishes (from worker threads).
public protocol OutputSink: Sendable {
    func output(pod: Pod, stream: SSHClient.OutputStream, bytes: [UInt8])
    func finished(_ result: PodResult)
}
