#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The agent's API token, as the agent and every client find it. Its text is never printed:
/// `description` names only where it came from.
///
/// One order for both programs (README, "API token"):
/// 1. the command's `--token-file FILE`;
/// 2. the program's variable: `PODAGENT_TOKEN` for podagent (the agent itself, `podagent health`,
///    `podagent compare`), `PODCTL_TOKEN` for podctl (a laptop's shell, where an agent's variable
///    would be taken for the wrong agent);
/// 3. the configured token file: podagent's `api.token_file` (YAML, or `PODAGENT_TOKEN_FILE`),
///    podctl's inventory `token_file` for the pod;
/// 4. none: no `Authorization` header (an agent without a token serves 127.0.0.1 only).
///
/// A variable that is set but empty, a file that cannot be read and a file holding only whitespace are
/// errors: each would otherwise silently fall through to the next source, or to no token at all.
public struct AgentToken: Sendable, Equatable, CustomStringConvertible {
    /// The token's text, trimmed. Goes into the `Authorization` header and nowhere else.
    public let value: String
    /// Where it came from, for messages: `PODAGENT_TOKEN`, `--token-file /run/t`, `api.token_file /run/t`.
    public let source: String
    /// The file it was read from, when it was.
    public let file: String?

    /// A token from its text, surrounding whitespace trimmed.
    /// - Throws: ``AgentAPIError`` `.usage` when nothing is left after trimming.
    public init(_ text: String, source: String, file: String? = nil) throws(AgentAPIError) {
        let trimmed = String(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
        guard !trimmed.isEmpty else { throw AgentAPIError(.usage, "\(source): the API token is empty") }
        value = trimmed
        self.source = source
        self.file = file
    }

    public var description: String { "<token from \(source)>" }

    /// Which variable and which configured file a program reads.
    public struct Rule: Sendable {
        /// `PODAGENT_TOKEN` or `PODCTL_TOKEN`.
        public var variable: String
        /// How the configured file is named in messages.
        public var configuredFile: String

        public init(variable: String, configuredFile: String) {
            self.variable = variable
            self.configuredFile = configuredFile
        }

        /// podagent: the agent, `podagent health`, `podagent compare`.
        public static let podagent = Rule(variable: "PODAGENT_TOKEN", configuredFile: "api.token_file")
        /// podctl: every command that talks to agents.
        public static let podctl = Rule(variable: "PODCTL_TOKEN", configuredFile: "the pod's token_file")

        /// The order in words, for help texts and errors.
        public var help: String { "--token-file, else \(variable), else \(configuredFile)" }
    }

    /// The token by `rule`'s order; nil when none is configured anywhere.
    /// - Parameters:
    ///   - flagFile: the command's `--token-file`.
    ///   - configuredFile: the file the configuration names (already resolved by the caller).
    /// - Throws: ``AgentAPIError`` `.usage` naming the variable or file that is empty or unreadable.
    public static func resolve(flagFile: String?, environment: [String: String], configuredFile: String?,
                               rule: Rule) throws(AgentAPIError) -> AgentToken? {
        if let flagFile { return try read(flagFile, source: "--token-file \(flagFile)") }
        if let text = environment[rule.variable] {
            return try AgentToken(text, source: "environment variable \(rule.variable)")
        }
        if let configuredFile { return try read(configuredFile, source: "\(rule.configuredFile) \(configuredFile)") }
        return nil
    }

    /// The token in `path`.
    public static func read(_ path: String, source: String) throws(AgentAPIError) -> AgentToken {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentAPIError(.usage, "\(source): cannot be read")
        }
        return try AgentToken(String(decoding: data, as: UTF8.self), source: source, file: path)
    }
}
