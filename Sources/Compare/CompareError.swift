import PodAgentExtras

/// The Compare module's one error type: a code for scripts, a message for people.
public struct CompareError: Error, Sendable, CustomStringConvertible, CommandLineError {
    public enum Code: String, Sendable, Codable {
        /// Bad flags or input files.
        case usage
        /// The agent refused the token (401).
        case unauthorized
        /// No such model or route (404).
        case notFound = "not_found"
        /// Queue full (429).
        case overloaded
        /// Model not ready (503).
        case unavailable
        /// The request ran past its timeout (504, or no answer in time).
        case timeout
        /// The agent said the request was wrong (400, 413).
        case badRequest = "bad_request"
        /// The agent failed on this input (500 and other statuses).
        case serverError = "server_error"
        /// Nothing answered, or the connection broke.
        case transport
        /// The answer was not a standard result.
        case invalidResult = "invalid_result"
        /// Writing the report failed.
        case io
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The row of the exit status table (``ProgramExit``).
    public var programExit: ProgramExit {
        switch code {
        case .usage: .usage
        case .unauthorized: .unauthorized
        case .notFound: .notFound
        case .overloaded, .unavailable: .unavailable
        case .timeout: .timeout
        case .badRequest, .serverError, .transport, .invalidResult, .io: .failure
        }
    }
}
