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
import Logging

/// The API's bearer token, read once at start. Its text is never printed: `description` is redacted.
public struct APIToken: Sendable, CustomStringConvertible {
    private let bytes: [UInt8]

    /// A token from its text, surrounding whitespace trimmed.
    /// - Throws: ``AgentError`` `.invalidConfig` when nothing is left after trimming.
    public init(_ text: String, source: String) throws(AgentError) {
        do { self.init(try AgentToken(text, source: source)) } catch { throw AgentError(.invalidConfig, error.message) }
    }

    /// The token the agent's clients found the same way (``AgentToken/resolve(flagFile:environment:configuredFile:rule:)``).
    public init(_ token: AgentToken) {
        bytes = Array(token.value.utf8)
    }

    public var description: String { "<redacted token>" }

    /// Compares in time that depends only on the candidate's length, never on where it first differs.
    func matches(_ candidate: some StringProtocol) -> Bool {
        let other = Array(candidate.utf8)
        var difference = UInt8(other.count == bytes.count ? 0 : 1)
        for index in 0..<other.count {
            difference |= other[index] ^ (index < bytes.count ? bytes[index] : 0)
        }
        return difference == 0
    }

    /// The token from `PODAGENT_TOKEN`, else from `api.token_file`; nil when neither is set: the order
    /// `podagent health` and `podagent compare` use too (``AgentToken``), so they find the same token.
    ///
    /// A token file readable by group or others is used with a warning (Kubernetes mounts secrets 0644
    /// by default); the warning names the file and its mode, never its content.
    /// - Throws: ``AgentError`` `.invalidConfig` for an unreadable or empty file, or an empty variable.
    public static func load(environment: [String: String], tokenFile: String?, logger: Logger) throws(AgentError) -> APIToken? {
        let token: AgentToken?
        do {
            token = try AgentToken.resolve(flagFile: nil, environment: environment, configuredFile: tokenFile, rule: .podagent)
        } catch {
            throw AgentError(.invalidConfig, error.message)
        }
        guard let token else { return nil }
        var info = stat()
        if let file = token.file, stat(file, &info) == 0, info.st_mode & 0o044 != 0 {
            logger.warning("the API token file is readable by other users: chmod 600 it", metadata: [
                "file": "\(file)", "mode": "\(String(info.st_mode & 0o777, radix: 8))"])
        }
        return APIToken(token)
    }
}
