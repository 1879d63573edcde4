/// The exit statuses podagent and podctl share: the one table (README, "Exit status").
///
/// Each module's error type says which row it is (``CommandLineError/programExit``); each program
/// prints and exits in one place (``CommandLineError/report(program:)``). Two more kinds of status
/// pass through unchanged and are not in this table: a supervised or remote command's own exit code
/// (`podagent run -- CMD`, `podctl exec -S`), and swift-argument-parser's 64 for a command line it
/// cannot parse.
public enum ProgramExit: Int32, Sendable, CaseIterable {
    /// Everything asked for was done, and every pod or check was fine.
    case success = 0
    /// Something failed: a pod unhealthy or unreachable, a request failed, a check found problems,
    /// an I/O or SSH error.
    case failure = 1
    /// Bad usage or input: a flag, a file, the configuration, an inventory; the message names it.
    case usage = 2
    /// The agent refused the API token (HTTP 401).
    case unauthorized = 3
    /// No such model, route or job (HTTP 404).
    case notFound = 4
    /// The agent is busy or not ready (HTTP 429, 503).
    case unavailable = 5
    /// The request ran past its deadline (HTTP 504, or no answer in time).
    case timeout = 6
}

/// An error a command line shows: its message, and the row of ``ProgramExit`` it exits with.
public protocol CommandLineError: Error {
    /// What went wrong, for people; never a secret.
    var message: String { get }
    /// How the program exits because of it.
    var programExit: ProgramExit { get }
}

extension CommandLineError {
    /// Prints `PROGRAM: error: MESSAGE` on stderr and returns the status to exit with.
    public func report(program: String) -> Int32 {
        let line = Array("\(program): error: \(message)\n".utf8)
        _ = line.withUnsafeBytes { writeFully(2, $0) }
        return programExit.rawValue
    }
}
