import PodAgentExtras

/// The AgentAPI module's one error type: a code for scripts, a message for people (never a token).
public struct AgentAPIError: Error, Sendable, CustomStringConvertible, CommandLineError {
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// A URL or token the client cannot use (bad flag, unreadable or empty token file).
        case usage
        /// The agent refused the token, or wanted one (401, 403).
        case unauthorized
        /// No such model, route or job (404).
        case notFound = "not_found"
        /// The model's queue is full (429).
        case overloaded
        /// The model or the agent is not ready (503).
        case unavailable
        /// The request ran past its deadline on the agent (504), or no answer came in time.
        case timeout
        /// The agent said the request was wrong (400, 413, 422).
        case badRequest = "bad_request"
        /// The agent failed (500 and other statuses).
        case serverError = "server_error"
        /// Nothing answered, the connection broke, or the answer was not HTTP.
        case transport
        /// The answer was HTTP but not what the API promises for the route.
        case invalidAnswer = "invalid_answer"
    }

    public var code: Code
    public var message: String
    /// The HTTP status, when the agent answered.
    public var status: Int?
    /// `Retry-After` seconds of a 429 or 503, when the agent sent it.
    public var retryAfter: String?

    public init(_ code: Code, _ message: String, status: Int? = nil, retryAfter: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }

    public var description: String { message }

    public var programExit: ProgramExit {
        switch code {
        case .usage: .usage
        case .unauthorized: .unauthorized
        case .notFound: .notFound
        case .overloaded, .unavailable: .unavailable
        case .timeout: .timeout
        case .badRequest, .serverError, .transport, .invalidAnswer: .failure
        }
    }
}
