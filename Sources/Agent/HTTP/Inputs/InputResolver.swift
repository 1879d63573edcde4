#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Plugins

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Checks a request's `inputs` and rewrites them for the engine: every value under a key ending in
/// `path` or `paths` must resolve (realpath, symlinks included) inside a data root, and uploads
/// (`{"base64", "filename"}` or `"upload:<multipart part>"`) become files in the request's upload directory.
struct InputResolver: Sendable {
    /// The configured roots, as given (for messages).
    let configuredRoots: [String]
    /// The roots after realpath; roots that do not exist are left out (nothing can resolve inside them).
    let roots: [String]

    init(dataRoots: [String]) {
        configuredRoots = dataRoots
        roots = dataRoots.compactMap { Self.resolvedPath($0) }
    }

    /// Where uploads are written and which multipart parts exist.
    struct Uploads {
        var directory: UploadArea.Request?
        var parts: [String: MultipartForm.Part] = [:]
        var used: Set<String> = []
        /// Check only: uploads are decoded but not written.
        var dryRun = false
    }

    /// The rewritten inputs.
    /// - Throws: ``AgentError`` `.invalidArgument` naming the key (`inputs.cams[0].img_path`) and the path.
    func resolve(_ inputs: JSONValue, uploads: inout Uploads) throws(AgentError) -> JSONValue {
        guard case .object = inputs else {
            throw AgentError(.invalidArgument, "inputs: expected a JSON object (the sample description), got \(inputs.kind)")
        }
        let resolved = try walk(inputs, key: "inputs", uploads: &uploads)
        if let unused = uploads.parts.keys.filter({ !uploads.used.contains($0) }).sorted().first {
            throw AgentError(.invalidArgument, "multipart part '\(unused)' is not referenced by any input (use \"upload:\(unused)\" as a path)")
        }
        return resolved
    }

    private func walk(_ value: JSONValue, key: String, uploads: inout Uploads) throws(AgentError) -> JSONValue {
        switch value {
        case .object(let members):
            var out: [(String, JSONValue)] = []
            for (name, member) in members {
                let where_ = "\(key).\(name)"
                if Self.isPathKey(name) {
                    out.append((name, try paths(member, key: where_, uploads: &uploads)))
                } else {
                    out.append((name, try walk(member, key: where_, uploads: &uploads)))
                }
            }
            return .object(out)
        case .array(let items):
            var out: [JSONValue] = []
            for (index, item) in items.enumerated() {
                out.append(try walk(item, key: "\(key)[\(index)]", uploads: &uploads))
            }
            return .array(out)
        default:
            return value
        }
    }

    static func isPathKey(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix("path") || lower.hasSuffix("paths")
    }

    private func paths(_ value: JSONValue, key: String, uploads: inout Uploads) throws(AgentError) -> JSONValue {
        if case .array(let items) = value {
            var out: [JSONValue] = []
            for (index, item) in items.enumerated() {
                out.append(.string(try onePath(item, key: "\(key)[\(index)]", uploads: &uploads)))
            }
            return .array(out)
        }
        return .string(try onePath(value, key: key, uploads: &uploads))
    }

    private func onePath(_ value: JSONValue, key: String, uploads: inout Uploads) throws(AgentError) -> String {
        switch value {
        case .string(let text) where text.hasPrefix("upload:"):
            let name = String(text.dropFirst("upload:".count))
            guard let part = uploads.parts[name] else {
                throw AgentError(.invalidArgument, "\(key): no multipart part named '\(name)' was sent")
            }
            uploads.used.insert(name)
            return try write(part.body, filename: part.filename ?? name, key: key, uploads: &uploads)
        case .string(let text):
            return try check(text, key: key)
        case .object(let members):
            let names = Set(members.map(\.0))
            guard names.isSubset(of: ["base64", "filename"]), let encoded = value["base64"]?.stringValue else {
                throw AgentError(.invalidArgument, "\(key): an upload is {\"base64\": \"...\", \"filename\": \"x.jpg\"}, got keys \(members.map(\.0).sorted().joined(separator: ", "))")
            }
            guard let data = Self.decodeBase64(encoded) else {
                throw AgentError(.invalidArgument, "\(key).base64: not valid base64")
            }
            return try write(data, filename: value["filename"]?.stringValue, key: key, uploads: &uploads)
        default:
            throw AgentError(.invalidArgument, "\(key): expected a file path, an upload or a list of them, got \(value.kind)")
        }
    }

    private func write(_ data: Data, filename: String?, key: String, uploads: inout Uploads) throws(AgentError) -> String {
        if uploads.dryRun { return "/upload/\(UploadArea.Request.safeName(filename))" }
        guard let directory = uploads.directory else {
            throw AgentError(.invalidArgument, "\(key): uploads are not accepted here")
        }
        return try directory.write(data, filename: filename)
    }

    /// The real path of `path` when it lies inside a data root.
    func check(_ path: String, key: String) throws(AgentError) -> String {
        let rootsText = configuredRoots.joined(separator: ", ")
        guard path.hasPrefix("/") else {
            throw AgentError(.invalidArgument, "\(key): '\(path)' is not an absolute path (inputs must lie inside the data roots: \(rootsText))")
        }
        guard !path.split(separator: "/").contains("..") else {
            throw AgentError(.invalidArgument, "\(key): '\(path)' contains '..'; give the path inside the data roots (\(rootsText)) directly")
        }
        guard let real = Self.resolvedPath(path) else {
            throw AgentError(.invalidArgument, "\(key): '\(path)' does not exist or cannot be resolved")
        }
        guard roots.contains(where: { real == $0 || real.hasPrefix($0 == "/" ? "/" : $0 + "/") }) else {
            let via = real == path ? "" : " (it resolves to '\(real)')"
            throw AgentError(.invalidArgument, "\(key): '\(path)'\(via) is outside the data roots (\(rootsText); set api.data_roots)")
        }
        return real
    }

    /// Standard base64, line breaks and spaces allowed. Works on bytes: filtering a 60 MiB string by
    /// Character (grapheme clusters) took seconds.
    static func decodeBase64(_ text: String) -> Data? {
        var bytes = Array(text.utf8)
        if let data = Data(base64Encoded: Data(bytes)) { return data }
        bytes.removeAll { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        return Data(base64Encoded: Data(bytes))
    }

    static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
