/// The Compare module's one error type: a code for scripts, a message for people.
public struct CompareError: Error, Sendable, CustomStringConvertible {
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

    /// The process exit status: 2 bad usage, 3 auth, 4 not found, 5 busy or not ready, 6 timeout, 1 otherwise.
    public var exitCode: Int32 {
        switch code {
        case .usage: return 2
        case .unauthorized: return 3
        case .notFound: return 4
        case .overloaded, .unavailable: return 5
        case .timeout: return 6
        default: return 1
        }
    }
}
