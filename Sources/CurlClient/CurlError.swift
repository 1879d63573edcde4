/// The CurlClient module's one error type: what failed, in libcurl's words, never a header value.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// libcurl could not be set up for the request (a handle, an option, an unreadable CA file).
        case setup
        /// The exchange failed: DNS, connection, TLS verification, an answer over the size limit.
        case transport
        /// No whole answer within the timeout.
        case timeout
    }

    public var kind: Kind
    public var message: String
    public var description: String { message }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
