import Foundation

/// Writes files so that readers see either the old content or the new one, never half of it.
enum AtomicFile {
    /// Writes `contents` to a temporary file next to `path`, fsyncs it, sets `mode` (and `owner`), then renames it over `path`.
    /// - Parameter owner: uid and gid for the new file; nil keeps the existing file's owner (root's for a new file).
    /// - Throws: ``AgentError`` `.system` naming the path and the failing step.
    static func write(_ contents: String, to path: String, mode: mode_t, owner: (uid: uid_t, gid: gid_t)? = nil) throws(AgentError) {
        var existing = stat()
        let keepOwner: (uid: uid_t, gid: gid_t)? = owner ?? (stat(path, &existing) == 0 ? (existing.st_uid, existing.st_gid) : nil)
        let temporary = "\(path).podagent-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AgentError(.system, "\(path): cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        let bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count, failure == nil {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = "write: \(String(cString: strerror(errno)))"
            } else {
                offset += written
            }
        }
        if failure == nil, fchmod(fd, mode) != 0 { failure = "chmod: \(String(cString: strerror(errno)))" }
        if failure == nil, let keepOwner, fchown(fd, keepOwner.uid, keepOwner.gid) != 0 { failure = "chown: \(String(cString: strerror(errno)))" }
        if failure == nil, fsync(fd) != 0 { failure = "fsync: \(String(cString: strerror(errno)))" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = "rename: \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw AgentError(.system, "\(path): cannot write: \(failure)")
        }
    }

    /// Creates `path` (and its parents) when missing and sets `mode` on it; refuses a path that is not a directory.
    static func ensureDirectory(_ path: String, mode: mode_t) throws(AgentError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw AgentError(.system, "\(path): cannot create the directory: \(error.localizedDescription)")
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw AgentError(.system, "\(path): exists but is not a directory")
        }
        guard chmod(path, mode) == 0 else {
            throw AgentError(.system, "\(path): cannot set mode \(String(mode, radix: 8)): \(String(cString: strerror(errno)))")
        }
    }
}
