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

/// The public keys allowed to log in, gathered from `PUBLIC_KEY`, `SSH_PUBLIC_KEY` and `ssh.authorized_keys`.
///
/// Each line is checked on its own: a bad line is reported (where it came from, which line, why)
/// and skipped, so one pasted typo never locks everybody out.
public struct AuthorizedKeys: Sendable, Equatable {
    /// One accepted key, as it will be written (options, type, base64 blob, comment).
    public struct Key: Sendable, Equatable {
        public var line: String
        public var type: String
        public var blob: String
    }

    /// A line that was skipped, and why.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var source: String
        public var line: Int
        public var reason: String
        public var description: String { "\(source) line \(line): \(reason)" }
    }

    public private(set) var keys: [Key] = []
    public private(set) var problems: [Problem] = []

    static let keyTypes: Set<String> = [
        "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    ]

    /// authorized_keys options that take no value.
    static let flagOptions: Set<String> = [
        "restrict", "cert-authority", "no-pty", "pty", "no-port-forwarding", "port-forwarding", "no-agent-forwarding",
        "agent-forwarding", "no-x11-forwarding", "x11-forwarding", "no-user-rc", "user-rc", "no-touch-required", "verify-required",
    ]

    public init() {}

    /// Collects keys from the pod's environment (`PUBLIC_KEY`, then `SSH_PUBLIC_KEY`) and the configured lines.
    public init(environment: [String: String], configured: [String]) {
        for name in ["PUBLIC_KEY", "SSH_PUBLIC_KEY"] {
            if let text = environment[name] { add(text, source: name) }
        }
        for (index, entry) in configured.enumerated() {
            add(entry, source: "ssh.authorized_keys[\(index)]")
        }
    }

    /// Adds every line of `text`; blank lines and `#` comments are ignored, duplicates kept once.
    public mutating func add(_ text: String, source: String) {
        // RunPod separates keys with newlines; some UIs turn them into literal "\n".
        let normalized = text.replacingLiteral("\\n", with: "\n").replacingLiteral("\r", with: "")
        for (index, raw) in normalized.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingSpace(newlines: false)
            if line.isEmpty || line.hasPrefix("#") { continue }
            switch Self.parse(line) {
            case .success(let key):
                if !keys.contains(where: { $0.type == key.type && $0.blob == key.blob }) { keys.append(key) }
            case .failure(let reason):
                problems.append(Problem(source: source, line: index + 1, reason: reason.message))
            }
        }
    }

    /// The authorized_keys file: a header, then one key per line.
    public func render() -> String {
        var text = "# Written by podagent from PUBLIC_KEY, SSH_PUBLIC_KEY and ssh.authorized_keys; rewritten at every start.\n"
        for key in keys { text += key.line + "\n" }
        return text
    }

    struct Reason: Error { var message: String }

    /// Checks one line: `[options] type base64 [comment]`, the blob decodes and names the same type.
    ///
    /// Read the way sshd reads it (auth2-pubkeyfile.c): first as a key; failing that, the first field
    /// is the options, which end at the first space outside double quotes (a quoted value such as
    /// `command="echo a key"` may hold spaces, and even text that looks like a key), then the key.
    /// So the key checked here is the key sshd will use.
    static func parse(_ line: String) -> Result<Key, Reason> {
        let first = line.prefix { $0 != " " && $0 != "\t" }
        if keyTypes.contains(String(first)) { return parseKey(Substring(line), whole: line) }
        let characters = Array(line)
        var index = 0
        var quoted = false
        while index < characters.count {
            let character = characters[index]
            if !quoted, character == " " || character == "\t" { break }
            if quoted, character == "\\", index + 1 < characters.count, characters[index + 1] == "\"" {
                index += 2
                continue
            }
            if character == "\"" { quoted.toggle() }
            index += 1
        }
        if quoted { return .failure(Reason(message: "the options before the key have an unterminated quote")) }
        let options = String(characters[..<index])
        let rest = String(characters[index...]).trimmingSpace(newlines: false)
        guard let type = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) else {
            return failure(noType: line)
        }
        guard keyTypes.contains(type) else {
            return failure(noType: line)
        }
        if !options.contains("="), !options.contains(","), !flagOptions.contains(options.lowercased()) {
            return .failure(Reason(message: "unexpected text '\(options.prefix(40))' before the key type \(type)"))
        }
        return parseKey(Substring(rest), whole: line)
    }

    /// `type base64 [comment]` at the start of `text`.
    private static func parseKey(_ text: Substring, whole line: String) -> Result<Key, Reason> {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let type = fields.first, keyTypes.contains(type) else { return failure(noType: line) }
        guard fields.count > 1 else {
            return .failure(Reason(message: "\(type) key without its base64 data"))
        }
        let blob = fields[1]
        guard let data = Data(base64Encoded: blob), data.count >= 4 else {
            return .failure(Reason(message: "\(type) key data is not valid base64 (truncated or mangled when pasted?)"))
        }
        let bytes = [UInt8](data)
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length > 0, 4 + length <= bytes.count, String(decoding: bytes[4..<(4 + length)], as: UTF8.self) == type else {
            return .failure(Reason(message: "the key data does not hold a \(type) key (mixed-up type or corrupted key)"))
        }
        return .success(Key(line: line, type: type, blob: blob))
    }

    private static func failure(noType line: String) -> Result<Key, Reason> {
        if line.contains("PRIVATE KEY") {
            return .failure(Reason(message: "this is a private key; paste the .pub file instead"))
        }
        let shown = line.count > 24 ? String(line.prefix(24)) + "..." : line
        return .failure(Reason(message: "'\(shown)' has no known key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...)"))
    }
}
