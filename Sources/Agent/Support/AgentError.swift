import Plugins
import PodAgentExtras

/// The one error type of the Agent module: a stable code, a message for people, an optional cause.
///
/// Edges map it once: HTTP handlers through ``AgentError/httpStatus``, the CLI through ``AgentError/programExit``.
public struct AgentError: Error, Sendable, CustomStringConvertible, CommandLineError {
    /// A stable, machine-readable error code.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidConfig = Code(rawValue: "invalid_config")
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        public static let notFound = Code(rawValue: "not_found")
        public static let unauthorized = Code(rawValue: "unauthorized")
        public static let notReady = Code(rawValue: "not_ready")
        public static let conflict = Code(rawValue: "conflict")
        public static let overloaded = Code(rawValue: "overloaded")
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        /// A request body in a `Content-Encoding` podagent does not read (gzip, deflate, ...).
        public static let unsupportedContentEncoding = Code(rawValue: "unsupported_content_encoding")
        public static let timeout = Code(rawValue: "timeout")
        public static let spawnFailed = Code(rawValue: "spawn_failed")
        public static let system = Code(rawValue: "system")
        public static let unavailable = Code(rawValue: "unavailable")
        public static let internalError = Code(rawValue: "internal")
        public static let cancelled = Code(rawValue: "cancelled")
        /// The state directory's disk is full (ENOSPC, EDQUOT).
        public static let insufficientStorage = Code(rawValue: "insufficient_storage")
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?
    /// For `.overloaded`: when to try again (the HTTP edge sends it as `Retry-After`).
    public var retryAfterSeconds: Int?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }

    /// The HTTP status this error maps to at the HTTP edge.
    public var httpStatus: Int {
        switch code {
        case .invalidArgument, .invalidConfig: 400
        case .unauthorized: 401
        case .notFound: 404
        case .conflict, .cancelled: 409
        case .payloadTooLarge: 413
        case .unsupportedContentEncoding: 415
        case .overloaded: 429
        case .notReady, .unavailable: 503
        case .timeout: 504
        case .insufficientStorage: 507
        default: 500
        }
    }

    /// The row of the exit status table (``ProgramExit``) this error maps to at the CLI edge.
    public var programExit: ProgramExit {
        switch code {
        case .invalidConfig, .invalidArgument: .usage
        case .unauthorized: .unauthorized
        case .notFound: .notFound
        case .notReady, .overloaded, .unavailable: .unavailable
        case .timeout: .timeout
        default: .failure
        }
    }
}

extension AgentError {
    /// Runs `body`, mapping what it throws once: a ``PluginError`` by its code, an ``AgentError`` as is,
    /// anything else as an internal error.
    public static func mapping<T>(_ body: () throws -> T) throws(AgentError) -> T {
        do {
            return try body()
        } catch let error as PluginError {
            throw AgentError(error)
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.internalError, "\(error)")
        }
    }
}

extension AgentError {
    /// A failed file operation: `.insufficientStorage` when `code` says the disk (or quota) is full,
    /// else `.system`; the message ends with errno's text.
    static func file(_ what: String, errno code: Int32) -> AgentError {
        let full = code == ENOSPC || code == EDQUOT
        return AgentError(full ? .insufficientStorage : .system, "\(what): \(String(cString: strerror(code)))")
    }

    /// Whether the disk being full caused this error.
    public var isDiskFull: Bool { code == .insufficientStorage }

    /// A durable write that failed (``AtomicFile``): the path, the step and errno's text;
    /// `.insufficientStorage` when the disk (or quota) is full.
    public init(_ failure: AtomicFile.Failure) {
        self.init(failure.isDiskFull ? .insufficientStorage : .system, failure.message)
    }

    /// Runs `body` (one of ``AtomicFile``'s writes), mapping its failure once.
    static func writing<T>(_ body: @autoclosure () throws(AtomicFile.Failure) -> T) throws(AgentError) -> T {
        do { return try body() } catch { throw AgentError(error) }
    }
}

/// Throws an ``AgentError`` with code `.system` naming `what` and the errno text when `rc` is non-zero.
@inline(__always)
func checkErrno(_ rc: Int32, _ what: @autoclosure () -> String) throws(AgentError) {
    guard rc == 0 else { throw AgentError(.system, "\(what()): \(String(cString: strerror(rc)))") }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
