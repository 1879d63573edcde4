import Foundation

/// Writes files so that readers see either the old content or the new one, never half of it.
enum AtomicFile {
    /// Writes `contents` to a temporary file next to `path`, fsyncs it, sets `mode` (and `owner`), then renames it over `path`.
    /// - Parameter owner: uid and gid for the new file; nil keeps the existing file's owner (root's for a new file).
    /// - Throws: ``AgentError`` `.system` naming the path and the failing step.
    static func write(_ contents: String, to path: String, mode: mode_t, owner: (uid: uid_t, gid: gid_t)? = nil) throws(AgentError) {
        try write(Array(contents.utf8), to: path, mode: mode, owner: owner)
    }

    /// Writes `bytes` the same way; `durable: false` skips the fsync (for files that do not outlive
    /// the process's use of them, such as uploads).
    /// - Throws: ``AgentError`` `.insufficientStorage` when the disk is full, else `.system`, naming the
    ///   path and the failing step; the temporary file is removed and `path` is left as it was.
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t, owner: (uid: uid_t, gid: gid_t)? = nil, durable: Bool = true) throws(AgentError) {
        var existing = stat()
        let keepOwner: (uid: uid_t, gid: gid_t)? = owner ?? (stat(path, &existing) == 0 ? (existing.st_uid, existing.st_gid) : nil)
        let temporary = "\(path).podagent-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AgentError.file("\(path): cannot create \(temporary)", errno: errno) }
        var failure: (step: String, errno: Int32)?
        var offset = 0
        while offset < bytes.count, failure == nil {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = ("write", errno)
            } else {
                offset += written
            }
        }
        if failure == nil, fchmod(fd, mode) != 0 { failure = ("chmod", errno) }
        if failure == nil, let keepOwner, fchown(fd, keepOwner.uid, keepOwner.gid) != 0 { failure = ("chown", errno) }
        if failure == nil, durable, fsync(fd) != 0 { failure = ("fsync", errno) }
        // close reports a delayed write error on some file systems (NFS): it counts as a failed write.
        if close(fd) != 0, failure == nil { failure = ("close", errno) }
        if failure == nil, rename(temporary, path) != 0 { failure = ("rename", errno) }
        if let failure {
            unlink(temporary)
            throw AgentError.file("\(path): cannot write: \(failure.step)", errno: failure.errno)
        }
    }

    /// Creates `path` (and its parents) when missing and sets `mode` on it; refuses a path that is not a directory.
    static func ensureDirectory(_ path: String, mode: mode_t) throws(AgentError) {
        // mkdir -p with errno kept, so a full disk is told apart from the rest.
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw AgentError.file("\(path): cannot create the directory \(prefix)", errno: errno)
            }
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
