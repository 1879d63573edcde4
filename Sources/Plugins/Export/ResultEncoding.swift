import Foundation

extension StandardResult {
    /// The result as JSON: sorted keys, so it is stable to diff and compare with goldens.
    /// Compact output comes from ``jsonBytes()``; pretty output from `JSONEncoder`.
    public func jsonData(pretty: Bool = false) throws(PluginError) -> Data {
        if !pretty { return Data(try jsonBytes()) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            return try encoder.encode(self)
        } catch {
            throw PluginError(.invalidValue, "cannot encode the result as JSON: \(error)")
        }
    }

    /// Reads a result written by ``jsonData(pretty:)``.
    public static func decode(_ data: Data) throws(PluginError) -> StandardResult {
        do {
            return try JSONDecoder().decode(StandardResult.self, from: data)
        } catch {
            throw PluginError(.malformedJSON, "not a standard result: \(error)")
        }
    }
}

/// Writes a file whole or not at all: a temp file beside it, fsync, rename.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws(PluginError) {
        let temp = "\(path).tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PluginError(.io, "\(path): cannot create \(temp): \(String(cString: strerror(errno)))") }
        var written = 0
        let failure: String? = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = Foundation.write(fd, buffer.baseAddress?.advanced(by: written), buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                written += count
            }
            return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
        }
        close(fd)
        if let failure {
            unlink(temp)
            throw PluginError(.io, "\(path): cannot write: \(failure)")
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw PluginError(.io, "\(path): cannot rename \(temp) into place: \(reason)")
        }
    }
}
