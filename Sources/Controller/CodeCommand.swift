import Foundation

/// `podctl code POD [PATH]`: the VS Code Remote-SSH URL, and `code --remote` when it is installed.
public enum CodeCommand {
    public static func url(pod: String, path: String) -> String {
        let cleanPath = path.hasPrefix("/") ? path : "/" + path
        return "vscode://vscode-remote/ssh-remote+\(SSHConfigWriter.alias(pod))\(cleanPath)"
    }

    /// The `code` executable on PATH, if any.
    public static func findCode(path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for directory in (path ?? "").split(separator: ":") {
            let candidate = "\(directory)/code"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `code --remote ssh-remote+NAME PATH` and returns its exit status.
    public static func launch(code: String, pod: String, path: String) throws(ControllerError) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: code)
        process.arguments = ["--remote", "ssh-remote+\(SSHConfigWriter.alias(pod))", path]
        do {
            try process.run()
        } catch {
            // Foundation wraps the errno in a generic Cocoa error; the POSIX one says what went wrong.
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            throw ControllerError(.io, "cannot run \(code): \((underlying ?? error as NSError).localizedDescription)")
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
