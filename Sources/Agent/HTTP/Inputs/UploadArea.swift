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
                do {
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                } catch {
                    throw AgentError(.system, "cannot create the upload directory \(path): \(error.localizedDescription)")
                }
                created = true
            }
            count += 1
            let file = "\(path)/\(count)-\(Self.safeName(filename))"
            guard FileManager.default.createFile(atPath: file, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw AgentError(.system, "cannot write the upload \(file)")
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
