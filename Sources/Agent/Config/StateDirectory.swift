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
import PodAgentExtras

/// Chooses and prepares podagent's state directory.
public enum StateDirectory {
    /// The resolved directory and, when podagent had to fall back to a temporary one, a warning to log.
    public struct Choice: Sendable, Equatable {
        public var path: String
        public var warning: String?
    }

    /// The configured directory, else `/workspace/.podagent` when /workspace is writable (it survives
    /// RunPod pod restarts), else `/var/lib/podagent`, else a temporary directory with a warning.
    public static func resolve(configured: String?, workspace: String = "/workspace", varLib: String = "/var/lib/podagent") throws(AgentError) -> Choice {
        if let configured {
            try create(configured)
            return Choice(path: configured, warning: nil)
        }
        if isWritableDirectory(workspace) {
            let path = workspace + "/.podagent"
            if (try? create(path)) != nil { return Choice(path: path, warning: nil) }
        }
        if (try? create(varLib)) != nil, isWritableDirectory(varLib) {
            return Choice(path: varLib, warning: nil)
        }
        let temporary = temporaryDirectory() + "podagent-\(getuid())"
        try create(temporary)
        return Choice(path: temporary, warning: "neither \(workspace) nor \(varLib) is writable: state goes to \(temporary) and is lost on restart")
    }

    static func isWritableDirectory(_ path: String) -> Bool {
        var isDirectory = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory && access(path, W_OK) == 0
    }

    static func create(_ path: String) throws(AgentError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AgentError(.invalidConfig, "state directory \(path): cannot be created: \(errorText(error))")
        }
        guard isWritableDirectory(path) else {
            throw AgentError(.invalidConfig, "state directory \(path): is not a writable directory")
        }
    }
}
