import Crypto
import Foundation
import PodAgentExtras
import SSHClient
import Synchronization

/// Shell-quotes one word for the pod's shell.
func shellQuote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// What one pod's transfer ended with.
public struct TransferResult: Sendable, Codable {
    public var pod: Pod
    public var bytes: UInt64 = 0
    public var sha256: String = ""
    /// Where the file landed (remote path for push, local path for pull).
    public var path: String = ""
    public var error: String?
}

/// A local file about to be pushed: its size, digest and mode, read once for every pod.
struct LocalFile: Sendable {
    var path: String
    var size: UInt64
    var sha256: String
    var mode: mode_t

    init(path: String) throws(ControllerError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ControllerError(.transfer, "cannot read \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var counted: UInt64 = 0
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw ControllerError(.transfer, "cannot read \(path): \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            counted += UInt64(chunk.count)
        }
        self.path = path
        size = counted
        sha256 = hasher.finalize().hex
        mode = ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int).map { mode_t($0) } ?? 0o644
    }
}

/// `podctl push` / `podctl pull` over SFTP: size and SHA-256 checked on both ends.
public enum TransferCommand {
    /// Uploads `local` to `remote` on every pod: written to a temporary name, checked with the
    /// pod's `sha256sum` against the local digest and size, then renamed into place.
    public static func push(local: String, remote: String, pods: [Pod], settings: ConnectionSettings, fanout: Int,
                            progress: ProgressLine? = nil) throws(ControllerError) -> [TransferResult] {
        if let persist = settings.persist {
            return try MuxClient(persist).transfer(.push, local: local, remote: remote, pods: pods, settings: settings,
                                                   fanout: fanout, progress: progress)
        }
        let file = try LocalFile(path: local)
        return each(pods, fanout: fanout, progress: progress) { pod throws(ControllerError) in
            try pushOne(file, to: remote, session: try connect(pod, settings), pod: pod)
        }
    }

    /// One pod's upload on an open session.
    static func pushOne(_ file: LocalFile, to remote: String, session: SSHSession, pod: Pod) throws(ControllerError) -> TransferResult {
        let temporary = remote + ".podctl-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let sftp = try SFTPSession(session: session)
            guard let source = FileHandle(forReadingAtPath: file.path) else { throw ControllerError(.transfer, "cannot read \(file.path)") }
            defer { try? source.close() }
            try sftp.upload(from: source, to: temporary, mode: file.mode & 0o7777)
            let remoteSize = try sftp.size(of: temporary)
            let remoteDigest = try remoteSHA256(temporary, session)
            guard remoteSize == file.size, remoteDigest == file.sha256 else {
                sftp.remove(temporary)
                throw ControllerError(.transfer, "verification failed: local \(file.size) bytes sha256 \(file.sha256), remote \(remoteSize) bytes sha256 \(remoteDigest)")
            }
            let moved = try session.run("mv -f -- \(shellQuote(temporary)) \(shellQuote(remote))")
            if moved.status != 0 {
                sftp.remove(temporary)
                throw ControllerError(.transfer, "cannot move the upload into place: \(String(decoding: moved.stderr, as: UTF8.self))")
            }
        } catch {
            throw transferError(error)
        }
        return TransferResult(pod: pod, bytes: file.size, sha256: file.sha256, path: remote)
    }

    /// Downloads `remote` from every pod to `localDirectory/<pod name>/<file name>`, checking the
    /// size and the pod's `sha256sum` against what arrived; staged beside it, put in place only when it checks out.
    public static func pull(remote: String, localDirectory: String, pods: [Pod], settings: ConnectionSettings,
                            fanout: Int, progress: ProgressLine? = nil) -> [TransferResult] {
        if let persist = settings.persist {
            do {
                return try MuxClient(persist).transfer(.pull, local: localDirectory, remote: remote, pods: pods,
                                                       settings: settings, fanout: fanout, progress: progress)
            } catch {
                return pods.map { TransferResult(pod: $0, error: error.message) }
            }
        }
        return each(pods, fanout: fanout, progress: progress) { pod throws(ControllerError) in
            try pullOne(remote, into: localDirectory, pod: pod) { () throws(ControllerError) in try connect(pod, settings) }
        }
    }

    /// One pod's download; `session` is asked for only once the local directory exists.
    static func pullOne(_ remote: String, into localDirectory: String, pod: Pod,
                        session open: () throws(ControllerError) -> SSHSession) throws(ControllerError) -> TransferResult {
        let fileName = (remote as NSString).lastPathComponent
        let directory = "\(localDirectory)/\(pod.name)"
        let destination = "\(directory)/\(fileName)"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ControllerError(.io, "cannot create \(directory): \(error.localizedDescription)")
        }
        let session = try open()
        do {
            let sftp = try SFTPSession(session: session)
            let expectedSize = try sftp.size(of: remote)
            let remoteDigest = try remoteSHA256(remote, session)
            // Dropped without a commit (an error below), the staged file is removed and nothing is left behind.
            let staged = try ControllerError.writing(StagedFile(replacing: destination, mode: 0o644))
            var hasher = SHA256()
            var received: UInt64 = 0
            try sftp.download(remote) { buffer in
                hasher.update(bufferPointer: buffer)
                received += UInt64(buffer.count)
                try ControllerError.writing(staged.write(buffer))
            }
            let digest = hasher.finalize().hex
            guard received == expectedSize, digest == remoteDigest else {
                throw ControllerError(.transfer, "verification failed: remote \(expectedSize) bytes sha256 \(remoteDigest), received \(received) bytes sha256 \(digest)")
            }
            try ControllerError.writing(staged.commit())
            return TransferResult(pod: pod, bytes: received, sha256: digest, path: destination)
        } catch {
            throw transferError(error)
        }
    }

    static func connect(_ pod: Pod, _ settings: ConnectionSettings) throws(ControllerError) -> SSHSession {
        do {
            return try settings.connect(pod)
        } catch {
            throw ControllerError(.ssh, error.message)
        }
    }

    static func remoteSHA256(_ path: String, _ session: SSHSession) throws(ControllerError) -> String {
        let result: (status: Int32?, stdout: [UInt8], stderr: [UInt8])
        do {
            result = try session.run("sha256sum -- \(shellQuote(path))")
        } catch {
            throw ControllerError(.transfer, "cannot checksum \(path) on the pod: \(error.message)")
        }
        let text = String(decoding: result.stdout, as: UTF8.self)
        guard result.status == 0, let digest = text.split(separator: " ").first, digest.count == 64 else {
            throw ControllerError(.transfer, "sha256sum of \(path) failed on the pod: \(String(decoding: result.stderr, as: UTF8.self))")
        }
        return String(digest)
    }

    static func each(_ pods: [Pod], fanout: Int, progress: ProgressLine?,
                     _ body: @escaping @Sendable (Pod) throws(ControllerError) -> TransferResult) -> [TransferResult] {
        let results = Mutex<[TransferResult?]>(Array(repeating: nil, count: pods.count))
        FanOut.run(count: pods.count, width: fanout) { index in
            var result: TransferResult
            do {
                result = try body(pods[index])
            } catch let error as ControllerError {
                result = TransferResult(pod: pods[index], error: error.message)
            } catch {
                result = TransferResult(pod: pods[index], error: "\(error)")
            }
            count(result, on: progress)
            results.withLock { $0[index] = result }
        }
        return results.withLock { $0.enumerated().map { $1 ?? TransferResult(pod: pods[$0], error: "not run") } }
    }

    /// Any failure of a transfer as the module's error (libssh's keep their message).
    static func transferError(_ error: any Error) -> ControllerError {
        switch error {
        case let error as ControllerError: return error
        case let error as SSHError: return ControllerError(.transfer, error.message)
        default: return ControllerError(.transfer, "\(error)")
        }
    }

    /// Counts a finished transfer on the progress line.
    static func count(_ result: TransferResult, on progress: ProgressLine?) {
        var marker = PodResult(pod: result.pod, status: result.error == nil ? .ok : .error)
        marker.errorMessage = result.error
        progress?.finished(marker)
    }
}
