#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodAgentExtras

/// Where uploaded input files live while their request runs: `<state_dir>/uploads/<request id>/`.
///
/// When model workers run as another user (podagent root, workers not: ``WorkerUser``), they must
/// read the uploads, but the state directory (host keys, jobs) stays podagent's alone (0700). The
/// uploads then live in `<tmp>/podagent-uploads-<id of the state directory>/` (0711, podagent's:
/// the workers' user can reach a request's folder by name, not list or change the others), and
/// each request's folder and files belong to the workers' user.
///
/// Each request's directory is removed when the request ends (``Request/remove()``, success or not);
/// whatever a crash left behind is removed when the next agent starts.
struct UploadArea: Sendable {
    let directory: String
    /// Set when the workers run as another user: the request folders are handed to it.
    let workerUser: WorkerUser?

    init(stateDir: String, workerUser: WorkerUser? = nil) {
        if let workerUser, workerUser.switchesUser {
            self.directory = Self.sharedRoot(stateDir: stateDir)
            self.workerUser = workerUser
        } else {
            self.directory = stateDir + "/uploads"
            self.workerUser = nil
        }
        // Leftovers from a previous run that ended without cleaning up.
        if let leftovers = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for name in leftovers { try? FileManager.default.removeItem(atPath: directory + "/" + name) }
        }
    }

    /// `<tmp>/podagent-uploads-<hash of the state directory>`, created 0711 and owned by podagent; one
    /// found there that is not exactly that (a link, another owner: planted by someone) is never used,
    /// a fresh random one is made instead.
    static func sharedRoot(stateDir: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: a stable name per state directory
        for byte in stateDir.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        let temporary = temporaryDirectory()
        let path = temporary + "podagent-uploads-" + String(hash, radix: 16)
        if mkdir(path, 0o711) == 0 || errno == EEXIST {
            var info = stat()
            if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(), chmod(path, 0o711) == 0 {
                return path
            }
        }
        var template = Array((temporary + "podagent-uploads-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress, mkdtemp(base) != nil else { return nil }
            return String(cString: base)
        }
        if let made, chmod(made, 0o711) == 0 { return made }
        return path  // the first write names the problem
    }

    /// One request's upload directory, created on the first file.
    final class Request: @unchecked Sendable {
        // @unchecked: used by one request's task at a time.
        private let parent: String
        /// `<parent>/<random id>`, named on first use: most requests upload nothing, and a random id
        /// (a `getrandom` call and its text) on every inference request was wasted on them.
        private(set) lazy var path = "\(parent)/\(RandomID.uuid())"
        let workerUser: WorkerUser?
        private var count = 0
        private var created = false

        /// - Parameter parent: the upload area's directory; the request's own folder is a fresh random name in it.
        init(parent: String, workerUser: WorkerUser? = nil) {
            self.parent = parent
            self.workerUser = workerUser
        }

        /// Writes `data` as a new file named after `filename` and returns its path.
        func write(_ data: Data, filename: String?) throws(AgentError) -> String {
            let owner = try workerUser?.identity()
            if !created {
                // The request's directory and its parent, `<state_dir>/uploads`, which may not exist yet.
                for directory in [parent, path] {
                    if mkdir(directory, 0o700) != 0, errno != EEXIST {
                        throw AgentError.file("cannot create the upload directory \(directory)", errno: errno)
                    }
                }
                created = true
                if let owner, chown(path, owner.uid, owner.gid) != 0 {
                    throw AgentError(.system, "cannot hand the upload directory \(path) to \(owner): \(String(cString: strerror(errno)))")
                }
            }
            count += 1
            let file = "\(path)/\(count)-\(Self.safeName(filename))"
            try Self.create(file, data, owner: owner)
            return file
        }

        /// A new file (never one that exists, never through a link: the folder may be the workers'
        /// user's), 0600, owned by `owner` when given; on failure nothing is left.
        static func create(_ file: String, _ data: Data, owner: ProcessIdentity?) throws(AgentError) {
            let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw AgentError.file("cannot write the upload \(file)", errno: errno) }
            // Whole or not at all: a failed write (a full disk: 507) leaves no partial file for the worker.
            var failure: (step: String, errno: Int32)?
            if let owner, fchown(fd, owner.uid, owner.gid) != 0 { failure = ("chown to \(owner)", errno) }
            if failure == nil {
                failure = data.withUnsafeBytes { buffer -> (step: String, errno: Int32)? in
                    var offset = 0
                    while offset < buffer.count {
                        let written = systemWrite(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                        if written < 0 {
                            if errno == EINTR { continue }
                            return ("write", errno)
                        }
                        offset += written
                    }
                    return nil
                }
            }
            if close(fd) != 0, failure == nil { failure = ("close", errno) }
            if let failure {
                unlink(file)
                throw AgentError.file("cannot write the upload \(file): \(failure.step)", errno: failure.errno)
            }
        }

        /// Removes the directory and everything in it.
        func remove() {
            guard created else { return }
            try? FileManager.default.removeItem(atPath: path)
            created = false
        }

        /// The last path component of `filename` with anything but letters, digits, `.`, `_` and `-` replaced.
        static func safeName(_ filename: String?) -> String {
            let base = (filename ?? "").split(separator: "/").last.map(String.init) ?? ""
            let cleaned = String(base.unicodeScalars.map { scalar -> Character in
                let allowed = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) || "._-".unicodeScalars.contains(scalar)
                return allowed ? Character(scalar) : "_"
            }.prefix(100))
            return cleaned.isEmpty || cleaned.allSatisfy({ $0 == "." }) ? "upload" : cleaned
        }
    }

    /// A request's upload directory (named and created when its first file is written).
    func request() -> Request {
        Request(parent: directory, workerUser: workerUser)
    }
}
