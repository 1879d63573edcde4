#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PodAgentExtras

/// Keeps secrets out of a diagnostics bundle: values of keys that look secret, and known secret values wherever they appear.
public struct Redactor: Sendable {
    public static let placeholder = "<redacted>"
    /// A key whose name contains one of these (case-insensitive) has its value redacted.
    static let secretWords = ["token", "secret", "password", "passwd", "key", "credential"]

    /// Secret values found so far (the token, the token file's content, values of secret-looking keys).
    public private(set) var values: Set<String> = []

    public init() {}

    /// Whether a key (env var, YAML key, config field) names a secret. A key ending in path, dir or file
    /// names where something is (`token_file`, `keygenPath`): its value stays; a token file's content is
    /// redacted separately.
    public static func isSecret(key: String) -> Bool {
        let lowered = key.lowercased()
        if ["path", "dir", "file", "files"].contains(where: { lowered.hasSuffix($0) }) { return false }
        return secretWords.contains { lowered.contains($0) }
    }

    /// Remembers a secret value so ``scrub(_:)`` removes it anywhere. Values shorter than 4 characters are
    /// too common to replace blindly (their keys are still redacted).
    public mutating func add(secret value: String) {
        let trimmed = value.trimmingSpace()
        if trimmed.count >= 4 { values.insert(trimmed) }
    }

    /// `text` with every known secret value replaced, longest first (a value may contain another).
    public func scrub(_ text: String) -> String {
        var result = text
        for value in values.sorted(by: { $0.count > $1.count }) {
            result = result.replacingLiteral(value, with: Self.placeholder)
        }
        return result
    }

    /// A YAML file with the values of secret-looking keys replaced (line by line: `key: value`).
    public func redactYAML(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let colon = line.firstIndex(of: ":") else { return String(line) }
            let key = line[..<colon].trimmingSpace(newlines: false).trimming(charactersIn: "-\"' ")
            let value = line[line.index(after: colon)...].trimmingSpace(newlines: false)
            guard Self.isSecret(key: key), !value.isEmpty else { return String(line) }
            return line[...colon] + " " + Self.placeholder
        }
        return scrub(lines.joined(separator: "\n"))
    }

    /// `name=value` lines for the environment, secret-looking names redacted.
    public func redactEnvironment(_ environment: [String: String]) -> String {
        environment.sorted { $0.key < $1.key }.map { name, value in
            "\(name)=\(Self.isSecret(key: name) ? Self.placeholder : scrub(value))"
        }.joined(separator: "\n") + "\n"
    }

    /// Every stored field of `value` as `path = value` lines (from its Mirror), secret-looking fields redacted.
    public func dump(_ value: Any, prefix: String = "") -> [String] {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let some = mirror.children.first?.value else { return ["\(prefix) = nil"] }
            return dump(some, prefix: prefix)
        }
        if mirror.displayStyle == .struct || mirror.displayStyle == .class, !mirror.children.isEmpty {
            return mirror.children.flatMap { child -> [String] in
                let label = child.label ?? "?"
                let path = prefix.isEmpty ? label : "\(prefix).\(label)"
                if Self.isSecret(key: label) { return ["\(path) = \(Self.placeholder)"] }
                return dump(child.value, prefix: path)
            }
        }
        return ["\(prefix) = \(scrub(String(describing: value)))"]
    }
}
