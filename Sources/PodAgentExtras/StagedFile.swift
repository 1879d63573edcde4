#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file's next content, written into a temporary file beside it and put in place by ``commit(durable:)``
/// (the steps of ``AtomicFile``), for content that arrives in pieces (a download, a stream).
///
/// Dropped without a commit, the temporary file is removed and the target is left as it was.
public final class StagedFile {
    /// The file this one replaces on commit.
    public let path: String
    /// The temporary file, in the same directory (a rename never crosses file systems).
    public let temporaryPath: String
    private let mode: mode_t
    private let owner: (uid: uid_t, gid: gid_t)?
    private var fd: Int32
    private var done = false

    /// Creates the temporary file (exclusively: never someone else's file of that name).
    /// - Parameters: as ``AtomicFile/write(_:to:mode:owner:durable:)-(String,_,_,_,_)``.
    public init(replacing path: String, mode: mode_t = 0o644, owner: (uid: uid_t, gid: gid_t)? = nil) throws(AtomicFile.Failure) {
        self.path = path
        self.mode = mode
        var existing = stat()
        if let owner {
            self.owner = owner
        } else if geteuid() == 0, stat(path, &existing) == 0 {
            self.owner = (existing.st_uid, existing.st_gid)
        } else {
            self.owner = nil
        }
        temporaryPath = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AtomicFile.Failure(path: path, step: "create \(temporaryPath)", errno: errno) }
    }

    deinit { discard() }

    /// Appends `buffer`; on failure the temporary file is removed.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(AtomicFile.Failure) {
        precondition(!done, "StagedFile written after commit or discard")
        if let code = writeFully(fd, buffer) { try fail("write", code) }
    }

    /// Sets mode and owner, fsyncs (when `durable`), closes and renames over ``path``, then fsyncs the
    /// directory. Any failure before the rename removes the temporary file and leaves ``path`` as it was.
    public func commit(durable: Bool = true) throws(AtomicFile.Failure) {
        precondition(!done, "StagedFile committed twice")
        if fchmod(fd, mode) != 0 { try fail("chmod", errno) }
        if let owner, fchown(fd, owner.uid, owner.gid) != 0 { try fail("chown", errno) }
        if durable, fsync(fd) != 0 { try fail("fsync", errno) }
        let closed = close(fd)
        fd = -1
        // close reports a delayed write error on some file systems (NFS): it counts as a failed write.
        if closed != 0 { try fail("close", errno) }
        if rename(temporaryPath, path) != 0 { try fail("rename", errno) }
        done = true
        if durable, let code = AtomicFile.syncDirectory(of: path) {
            throw AtomicFile.Failure(path: path, step: "fsync the directory", errno: code)
        }
    }

    /// Removes the temporary file; ``path`` is left as it was. Nothing happens after a commit.
    public func discard() {
        guard !done else { return }
        done = true
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(temporaryPath)
    }

    private func fail(_ step: String, _ code: Int32) throws(AtomicFile.Failure) -> Never {
        discard()
        throw AtomicFile.Failure(path: path, step: step, errno: code)
    }
}
