import CShims
import Foundation

/// Starts `podctl mux serve` in the background, detached from the terminal (its own session, so the
/// user's Ctrl-C on the command that started it does not end it), logging to `mux.log`.
enum MuxLauncher {
    /// This executable (resolved, so `ps` shows podctl), with `mux serve`.
    static var defaultCommand: [String] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = length > 0 ? String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : CommandLine.arguments[0]
        return [path, "mux", "serve"]
    }

    static func start(command: [String], directory: MuxDirectory) throws(ControllerError) -> pid_t {
        guard let executable = command.first else { throw ControllerError(.mux, "no command to start the mux with") }
        let arguments = command + ["--dir", directory.path]
        let environment = keptEnvironment(ProcessInfo.processInfo.environment).map { "\($0)=\($1)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = pa_spawn_detached(executable, argv, envp, directory.log, &pid)
        guard rc == 0 else {
            throw ControllerError(.mux, "cannot start the mux (\(arguments.joined(separator: " "))): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// The variables the mux may see: the first client's environment holds secrets (PODCTL_TOKEN,
    /// RUNPOD_API_KEY, ...) the mux has no use for and must not keep for hours. Requests name the ssh-agent
    /// socket and every path themselves.
    static func keptEnvironment(_ environment: [String: String]) -> [String: String] {
        let names: Set = ["HOME", "USER", "LOGNAME", "PATH", "LANG", "TZ", "TMPDIR", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME"]
        return environment.filter { names.contains($0.key) || $0.key.hasPrefix("LC_") }
    }

    /// The exit status once `pid` has ended (it is reaped), else nil.
    static func exitStatus(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// The last lines of the mux's log, for an error message.
    static func logTail(_ directory: MuxDirectory, lines: Int = 5) -> String {
        guard let data = FileManager.default.contents(atPath: directory.log) else { return "" }
        return String(decoding: data.suffix(4096), as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
