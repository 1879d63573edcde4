import CLibSSH
import Foundation

/// A known_hosts file, read through libssh's own line parser (so hashed names, patterns and
/// `[host]:port` match exactly as for libssh) and appended to under an exclusive `flock`.
public struct KnownHostsFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The name OpenSSH looks a host up by: `host` on port 22, else `[host]:port`; lowercased as ssh does.
    public static func entryName(host: String, port: Int) -> String {
        let lower = host.lowercased()
        return port == 22 ? lower : "[\(lower)]:\(port)"
    }

    /// What the file says about a key offered under some names.
    public enum Verdict: Sendable, Equatable {
        /// The key is pinned under `name`.
        case known(name: String)
        /// `name` has a pinned key of the same type that differs.
        case changed(name: String, pinned: [SSHPublicKey])
        /// `name` has pinned keys, none of this type.
        case otherTypes(name: String, pinned: [SSHPublicKey])
        /// No name has any entry.
        case unknown
    }

    /// The keys pinned under `name` (lines starting with a marker such as `@cert-authority` are skipped,
    /// as libssh does; a matching line whose key cannot be read is skipped too).
    public func keys(for name: String) throws(SSHError) -> [SSHPublicKey] {
        try Self.keys(in: try read(), for: name)
    }

    /// The first of `names` that has entries decides: the key is known, changed or of another type.
    public func verify(_ key: SSHPublicKey, names: [String]) throws(SSHError) -> Verdict {
        let text = try read()
        for name in names {
            let pinned = Self.keys(in: text, for: name)
            if pinned.isEmpty { continue }
            if pinned.contains(key) { return .known(name: name) }
            if pinned.contains(where: { $0.type == key.type }) { return .changed(name: name, pinned: pinned) }
            return .otherTypes(name: name, pinned: pinned)
        }
        return .unknown
    }

    /// A pinned key that differs from the one offered for the same name and type.
    public struct Conflict: Sendable, Equatable {
        public var name: String
        public var pinned: SSHPublicKey
        public var offered: SSHPublicKey

        public init(name: String, pinned: SSHPublicKey, offered: SSHPublicKey) {
            self.name = name
            self.pinned = pinned
            self.offered = offered
        }
    }

    /// What ``pin(_:names:)`` did.
    public enum PinResult: Sendable, Equatable {
        /// Lines added (`name type base64`), and how many (name, key) pairs were already there.
        case pinned(added: [String], alreadyPinned: Int)
        /// Nothing was written: these names already pin other keys of the same types.
        case refused([Conflict])
    }

    /// Pins every key under every name, all or nothing: when any name already pins a different key
    /// of the same type, nothing is written (as strict checking refuses a changed key). Appends under an
    /// exclusive `flock` (podctl processes and threads never interleave lines); on a failed write the
    /// file is cut back to its old length, so no half line is left.
    public func pin(_ keys: [SSHPublicKey], names: [String]) throws(SSHError) -> PinResult {
        try createDirectory()
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SSHError(.knownHosts, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw SSHError(.knownHosts, "cannot lock \(path): \(String(cString: strerror(errno)))") }
        defer { flock(fd, LOCK_UN) }
        // Read under the lock: another writer may have appended since.
        let text = try read()
        var conflicts: [Conflict] = []
        var lines: [String] = []
        var already = 0
        for name in names {
            let pinned = Self.keys(in: text, for: name)
            for key in keys {
                if pinned.contains(key) {
                    already += 1
                } else if let other = pinned.first(where: { $0.type == key.type }) {
                    conflicts.append(Conflict(name: name, pinned: other, offered: key))
                } else {
                    lines.append("\(name) \(key.type) \(key.base64)")
                }
            }
        }
        if !conflicts.isEmpty { return .refused(conflicts) }
        if lines.isEmpty { return .pinned(added: [], alreadyPinned: already) }
        // A file whose last line has no newline would otherwise glue our first line onto it.
        let prefix = text.isEmpty || text.hasSuffix("\n") ? "" : "\n"
        try append(fd: fd, prefix + lines.joined(separator: "\n") + "\n")
        return .pinned(added: lines, alreadyPinned: already)
    }

    private func append(fd: Int32, _ text: String) throws(SSHError) {
        let start = lseek(fd, 0, SEEK_END)
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 {
                let reason = String(cString: strerror(errno))
                if start >= 0 { _ = ftruncate(fd, start) }
                throw SSHError(.knownHosts, "cannot write \(path): \(reason); nothing was added")
            }
            offset += written
        }
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            if start >= 0 { _ = ftruncate(fd, start) }
            throw SSHError(.knownHosts, "cannot write \(path): \(reason); nothing was added")
        }
    }

    private func createDirectory() throws(SSHError) {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw SSHError(.knownHosts, "cannot create \(directory): \(error.localizedDescription)")
        }
    }

    /// The file's text; a missing file is empty.
    private func read() throws(SSHError) -> String {
        guard FileManager.default.fileExists(atPath: path) else { return "" }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SSHError(.knownHosts, "cannot read known hosts file \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func keys(in text: String, for name: String) -> [SSHPublicKey] {
        var found: [SSHPublicKey] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            // libssh splits fields on spaces only; known_hosts allows tabs too.
            let line = raw.replacingOccurrences(of: "\t", with: " ").trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("@") { continue }
            var entry: UnsafeMutablePointer<ssh_knownhosts_entry>?
            let rc = ssh_known_hosts_parse_line(name, line, &entry)
            guard rc == SSH_OK, let entry else { continue }
            ssh_knownhosts_entry_free(entry)
            // libssh matched the name and read the key: the type and blob are the line's next two fields.
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 3, let key = try? SSHPublicKey(type: String(fields[1]), base64: String(fields[2])) else { continue }
            if !found.contains(key) { found.append(key) }
        }
        return found
    }
}
