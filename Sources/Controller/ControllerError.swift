import PodAgentExtras

/// The Controller module's one error type: a code for scripts, a message for people.
public struct ControllerError: Error, Sendable, CustomStringConvertible, CommandLineError {
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

    /// The row of the exit status table (``ProgramExit``): bad input is usage, the rest a failure.
    public var programExit: ProgramExit {
        switch code {
        case .inventory, .targets, .usage: .usage
        case .io, .discovery, .ssh, .transfer, .mux: .failure
        }
    }
}

extension ControllerError {
    /// A durable write that failed (``AtomicFile``): the path, the step and errno's text.
    public init(_ failure: AtomicFile.Failure) {
        self.init(.io, failure.message)
    }

    /// Runs `body` (one of ``AtomicFile``'s writes), mapping its failure once.
    static func writing<T>(_ body: @autoclosure () throws(AtomicFile.Failure) -> T) throws(ControllerError) -> T {
        do { return try body() } catch { throw ControllerError(error) }
    }
}
