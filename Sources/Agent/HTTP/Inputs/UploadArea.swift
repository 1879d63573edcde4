import Foundation

/// Where uploaded input files live while their request runs: `<state_dir>/uploads/<request id>/`.
///
/// Each request's directory is removed when the request ends (``Request/remove()``, success or not);
/// whatever a crash left behind is removed when the next agent starts.
struct UploadArea: Sendable {
    let directory: String

    init(stateDir: String) {
        directory = stateDir + "/uploads"
        // Leftovers from a previous run that ended without cleaning up.
        if let leftovers = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for name in leftovers { try? FileManager.default.removeItem(atPath: directory + "/" + name) }
        }
    }

    /// One request's upload directory, created on the first file.
    final class Request: @unchecked Sendable {
        // @unchecked: used by one request's task at a time.
        let path: String
        private var count = 0
        private var created = false

        init(path: String) { self.path = path }

        /// Writes `data` as a new file named after `filename` and returns its path.
        func write(_ data: Data, filename: String?) throws(AgentError) -> String {
            if !created {
                // The request's directory and its parent, `<state_dir>/uploads`, which may not exist yet.
                for directory in [(path as NSString).deletingLastPathComponent, path] {
                    if mkdir(directory, 0o700) != 0, errno != EEXIST {
                        throw AgentError.file("cannot create the upload directory \(directory)", errno: errno)
                    }
                }
                created = true
            }
            count += 1
            let file = "\(path)/\(count)-\(Self.safeName(filename))"
            // Whole or not at all: a full disk answers 507 and leaves no partial file for the worker.
            do {
                try AtomicFile.write([UInt8](data), to: file, mode: 0o600, durable: false)
            } catch {
                throw AgentError(error.code, "cannot store the upload \(Self.safeName(filename)): \(error.message)")
            }
            return file
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
                let allowed = CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || "._-".unicodeScalars.contains(scalar)
                return allowed ? Character(scalar) : "_"
            }.prefix(100))
            return cleaned.isEmpty || cleaned.allSatisfy({ $0 == "." }) ? "upload" : cleaned
        }
    }

    func request(_ id: String) -> Request {
        Request(path: "\(directory)/\(id)")
    }
}
