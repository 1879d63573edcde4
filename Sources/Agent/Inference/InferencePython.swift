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

/// The Python a worker command's leading `python3`/`python` becomes (docs/inference.md, "The workers' user").
///
/// `inference.python` (`PODAGENT_INFERENCE_PYTHON`), when set, is used as given. Otherwise it is the first
/// `python3` on PATH that the workers' user can run, judged by that user's uid, gid and groups, not by
/// podagent's (root's `access(2)` says yes to a pyenv under `/root` that `nobody` cannot reach).
enum InferencePython {
    /// - Parameters:
    ///   - configured: `inference.python`, nil when not set.
    ///   - searchPath: the workers' PATH.
    ///   - identity: the workers' user; nil when they run as podagent's own (then `python3` as usual).
    /// - Throws: ``AgentError`` `.invalidConfig` naming every candidate tried when none is usable.
    static func resolve(configured: String?, searchPath: String?, identity: ProcessIdentity?) throws(AgentError) -> String {
        if let configured { return configured }
        guard let identity, identity.uid != 0 else { return "python3" }
        var tried: [String] = []
        for directory in (searchPath ?? "").split(separator: ":").map(String.init) where directory.hasPrefix("/") {
            let candidate = (directory.hasSuffix("/") ? directory : directory + "/") + "python3"
            var info = stat()
            guard stat(candidate, &info) == 0 else { continue }
            if canExecute(candidate, as: identity) { return candidate }
            tried.append(candidate)
        }
        let list = tried.isEmpty ? "no python3 on PATH (\(searchPath ?? "unset"))" : "tried " + tried.joined(separator: ", ")
        throw AgentError(.invalidConfig, "no python3 that model workers' user \(identity) can run: \(list); "
            + "set inference.python (PODAGENT_INFERENCE_PYTHON) to one it can, e.g. /usr/bin/python3")
    }

    /// Whether `identity` may execute `path`: every folder on the way searchable and the file (links
    /// followed) a regular file it may execute, by the owner, group and other bits as the kernel checks them.
    static func canExecute(_ path: String, as identity: ProcessIdentity) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        defer { free(resolved) }
        let target = String(cString: resolved)
        // Both the path as written (a link is reached through its folders) and where it leads.
        for walked in [path, target] {
            var folder = ""
            for part in walked.split(separator: "/").dropLast() {
                folder += "/" + part
                guard allows(folder, S_IXUSR, S_IXGRP, S_IXOTH, identity, wantDirectory: true) else { return false }
            }
            guard allows("/", S_IXUSR, S_IXGRP, S_IXOTH, identity, wantDirectory: true) else { return false }
        }
        return allows(target, S_IXUSR, S_IXGRP, S_IXOTH, identity, wantDirectory: false)
    }

    private static func allows(_ path: String, _ user: mode_t, _ group: mode_t, _ other: mode_t,
                               _ identity: ProcessIdentity, wantDirectory: Bool) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let kind = info.st_mode & S_IFMT
        guard wantDirectory ? kind == S_IFDIR : kind == S_IFREG else { return false }
        if info.st_uid == identity.uid { return info.st_mode & user != 0 }
        if info.st_gid == identity.gid || identity.groups.contains(info.st_gid) { return info.st_mode & group != 0 }
        return info.st_mode & other != 0
    }
}
