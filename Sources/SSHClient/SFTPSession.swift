import CLibSSH
import Foundation

/// An SFTP subsystem on a connected session (libssh's SFTP needs the blocking session it gets here).
public final class SFTPSession {
    private let raw: sftp_session
    private let session: SSHSession
    /// Bytes per write/read request; OpenSSH's sftp-server accepts far more, 32 KiB is safe everywhere.
    private let chunk = 32 * 1024

    public init(session: SSHSession) throws(SSHError) {
        guard let sftp = sftp_new(session.raw) else {
            throw SSHError(.sftp, "the server refused the sftp subsystem: \(session.lastError)")
        }
        guard sftp_init(sftp) == SSH_OK else {
            let code = sftp_get_error(sftp)
            sftp_free(sftp)
            throw SSHError(.sftp, "sftp could not start (code \(code)): \(session.lastError)")
        }
        raw = sftp
        self.session = session
    }

    deinit { sftp_free(raw) }

    private func failure(_ what: String) -> SSHError {
        SSHError(.sftp, "\(what): \(Self.describe(sftp_get_error(raw))) (\(session.lastError))")
    }

    static func describe(_ code: Int32) -> String {
        switch code {
        case 2: return "no such file"
        case 3: return "permission denied"
        case 4: return "failure"
        case 11: return "file already exists"
        default: return "sftp error \(code)"
        }
    }

    /// The size of a remote file.
    public func size(of path: String) throws(SSHError) -> UInt64 {
        guard let attributes = sftp_stat(raw, path) else { throw failure("cannot stat \(path)") }
        defer { sftp_attributes_free(attributes) }
        return attributes.pointee.size
    }

    /// Writes `source` (a local file) to `remotePath`, calling `progress` with the bytes sent so far.
    public func upload(from source: FileHandle, to remotePath: String, mode: mode_t = 0o644,
                       progress: (UInt64) -> Void = { _ in }) throws(SSHError) {
        guard let file = sftp_open(raw, remotePath, O_WRONLY | O_CREAT | O_TRUNC, mode) else {
            throw failure("cannot create \(remotePath)")
        }
        var sent: UInt64 = 0
        var closed = false
        defer { if !closed { sftp_close(file) } }
        while true {
            let data: Data
            do {
                data = try source.read(upToCount: chunk) ?? Data()
            } catch {
                throw SSHError(.io, "cannot read the local file: \(error)")
            }
            if data.isEmpty { break }
            let written = data.withUnsafeBytes { sftp_write(file, $0.baseAddress, $0.count) }
            if written != data.count { throw failure("write to \(remotePath) failed after \(sent) bytes") }
            sent += UInt64(written)
            progress(sent)
        }
        closed = true
        if sftp_close(file) != SSH_OK { throw failure("closing \(remotePath) failed") }
    }

    /// Reads `remotePath`, handing each chunk to `sink`.
    public func download(_ remotePath: String, progress: (UInt64) -> Void = { _ in },
                         sink: (UnsafeRawBufferPointer) throws -> Void) throws(SSHError) {
        guard let file = sftp_open(raw, remotePath, O_RDONLY, 0) else { throw failure("cannot open \(remotePath)") }
        defer { sftp_close(file) }
        var buffer = [UInt8](repeating: 0, count: chunk)
        var received: UInt64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { sftp_read(file, $0.baseAddress, $0.count) }
            if count < 0 { throw failure("read of \(remotePath) failed after \(received) bytes") }
            if count == 0 { break }
            do {
                try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            } catch {
                throw SSHError(.io, "cannot write the local copy of \(remotePath): \(error)")
            }
            received += UInt64(count)
            progress(received)
        }
    }

    /// Removes a remote file, ignoring a missing one.
    public func remove(_ path: String) {
        _ = sftp_unlink(raw, path)
    }
}
