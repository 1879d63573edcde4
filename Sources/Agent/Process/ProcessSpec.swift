#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What to run: everything podagent starts (sshd, model workers, the image's command, probes) is described by one of these.
public struct ProcessSpec: Sendable {
    /// Where a standard stream of the child goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// podagent's own descriptor of the same number.
        case inherit
        /// A pipe whose other end podagent keeps (``Child/stdin``, ``Child/stdout``, ``Child/stderr``).
        case pipe
    }

    public var executable: String
    public var arguments: [String]
    /// The child's whole environment; `nil` passes podagent's own.
    public var environment: [String: String]?
    public var workingDirectory: String?
    public var stdin: Stream
    public var stdout: Stream
    public var stderr: Stream
    /// A new process group lets podagent signal the child and every descendant at once.
    public var newProcessGroup: Bool
    /// The user the child runs as, switched to in the child before exec; nil keeps podagent's own.
    public var identity: ProcessIdentity?

    public init(
        executable: String, arguments: [String] = [], environment: [String: String]? = nil,
        workingDirectory: String? = nil, stdin: Stream = .null, stdout: Stream = .pipe, stderr: Stream = .pipe,
        newProcessGroup: Bool = true, identity: ProcessIdentity? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.newProcessGroup = newProcessGroup
        self.identity = identity
    }

    /// The executable's absolute path: itself when it contains a slash, else the first match on PATH.
    public func resolvedExecutable() throws(AgentError) -> String {
        if executable.contains("/") { return executable }
        let path = (environment?["PATH"] ?? ProcessInfo.processInfo.environment["PATH"]) ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(executable)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw AgentError(.spawnFailed, "\(executable): not found on PATH")
    }
}

/// How a child ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var succeeded: Bool { self == .exited(0) }

    /// The shell convention: the exit code, or 128 + signal number.
    public var shellCode: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}
