import AgentAPI
import PodAgentExtras

/// The Compare module's one error type: a code for scripts (and the report's failure kinds), a message for people.
public struct CompareError: Error, Sendable, CustomStringConvertible, CommandLineError {
    /// Compare's own codes, and the agent's by AgentAPI's names (`unauthorized`, `not_found`, `overloaded`,
    /// `unavailable`, `timeout`, `bad_request`, `server_error`, `transport`): the report's failure kinds.
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// An agent's error as AgentAPI names it; an answer that is not the API's is an invalid result.
        public init(_ agent: AgentAPIError.Code) {
            rawValue = agent == .invalidAnswer ? "invalid_result" : agent.rawValue
        }

        /// Bad flags or input files.
        public static let usage = Code(.usage)
        /// The answer was not a standard result.
        public static let invalidResult = Code(.invalidAnswer)
        /// Writing the report failed.
        public static let io = Code(rawValue: "io")
        public static let unauthorized = Code(.unauthorized)
        public static let notFound = Code(.notFound)
        public static let overloaded = Code(.overloaded)
        public static let unavailable = Code(.unavailable)
        public static let timeout = Code(.timeout)
        public static let badRequest = Code(.badRequest)
        public static let serverError = Code(.serverError)
        public static let transport = Code(.transport)
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The agent's error, same code and message.
    public init(_ error: AgentAPIError) {
        self.init(Code(error.code), error.message)
    }

    public var description: String { message }

    /// The row of the exit status table (``ProgramExit``): an agent's error exits as AgentAPI's does.
    public var programExit: ProgramExit {
        if let agent = AgentAPIError.Code(rawValue: code.rawValue) { return AgentAPIError(agent, message).programExit }
        return .failure
    }
}
