#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes files so that readers see the old content or the new one, never half of it, and so that a
/// crash right after a write keeps the new content: a temporary file beside the target, fsync, rename,
/// then fsync of the directory that holds the new name.
///
/// The one implementation for every module (podagent's state, podctl's ssh config and fleet file,
/// reports, exports); each module maps ``AtomicFile/Failure`` into its own error type.
public enum AtomicFile {
    /// Why a write failed: the target, the step that failed and errno. The target was left as it was
    /// unless `step` is `fsync the directory` (then the new content is in place but may not survive a crash).
    public struct Failure: Error, Sendable, CustomStringConvertible, CommandLineError {
        public var path: String
        public var step: String
        public var errno: Int32

        public init(path: String, step: String, errno: Int32) {
            self.path = path
            self.step = step
            self.errno = errno
        }

        /// The disk (or the user's quota) is full.
        public var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT }

        /// `PATH: cannot write: STEP: errno text`.
        public var message: String { "\(path): cannot write: \(step): \(errnoText(errno))" }
        public var description: String { message }
        public var programExit: ProgramExit { .failure }
    }

    /// Replaces `path` with `text` (UTF-8).
    /// - Parameters:
    ///   - mode: the new file's permissions, whatever the umask.
    ///   - owner: uid and gid for the new file; nil keeps the replaced file's owner when running as root
    ///     (a file root writes for a user stays the user's), else leaves the writer's.
    ///   - durable: false skips the fsyncs, for files that do not outlive the process's use of them.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644, owner: (uid: uid_t, gid: gid_t)? = nil,
                             durable: Bool = true) throws(Failure) {
        try write(Array(text.utf8), to: path, mode: mode, owner: owner, durable: durable)
    }

    /// Replaces `path` with `bytes`; the parameters are those of ``write(_:to:mode:owner:durable:)-(String,_,_,_,_)``.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, owner: (uid: uid_t, gid: gid_t)? = nil,
                             durable: Bool = true) throws(Failure) {
        let staged = try StagedFile(replacing: path, mode: mode, owner: owner)
        var failure: Failure?
        bytes.withUnsafeBytes { buffer in
            do throws(Failure) { try staged.write(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
        try staged.commit(durable: durable)
    }

    /// Creates `path` and its missing parents (0755) and sets `mode` on `path`; refuses a path that
    /// exists but is not a directory.
    public static func ensureDirectory(_ path: String, mode: mode_t) throws(Failure) {
        // mkdir -p with errno kept, so a full disk is told apart from the rest.
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw Failure(path: path, step: "create the directory \(prefix)", errno: errno)
            }
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw Failure(path: path, step: "stat", errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw Failure(path: path, step: "it is not a directory", errno: ENOTDIR) }
        guard chmod(path, mode) == 0 else { throw Failure(path: path, step: "chmod \(String(mode, radix: 8))", errno: errno) }
    }

    /// fsyncs the directory holding `path`, so a rename into it survives a crash. File systems that
    /// cannot sync a directory (EINVAL) count as done.
    static func syncDirectory(of path: String) -> Int32? {
        let directory = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) : "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        if fsync(fd) != 0, errno != EINVAL { return errno }
        return nil
    }
}
