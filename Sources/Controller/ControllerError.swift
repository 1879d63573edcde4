/// The Controller module's one error type: a code for scripts, a message for people.
public struct ControllerError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case inventory, targets, usage, io, discovery, ssh, transfer, mux
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The process exit status for this error (2 for bad input, 1 otherwise).
    public var exitCode: Int32 {
        switch code {
        case .inventory, .targets, .usage: return 2
        default: return 1
        }
    }
}
