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

/// What podagent reads about other processes from `/proc`: state, parent, process group, name, environment.
///
/// Reads never throw: a process that is gone (or, in another PID namespace, was never visible) reads as nil.
public struct ProcFS: Sendable {
    /// The fields of `/proc/<pid>/stat` podagent uses.
    public struct Stat: Sendable, Equatable {
        public var state: Character
        public var parent: pid_t
        public var processGroup: pid_t
    }

    /// The procfs mount (tests may point elsewhere; podagent always reads `/proc`).
    public var root: String

    public init(root: String = "/proc") {
        self.root = root
    }

    /// State, parent pid and process group, or nil when the process does not exist (here).
    public func stat(_ pid: pid_t) -> Stat? {
        guard pid > 0, let text = try? String(contentsOfFile: "\(root)/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm) ": state, ppid, pgrp; comm may hold spaces and parentheses.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count >= 3, let state = fields[0].first, let parent = pid_t(fields[1]), let group = pid_t(fields[2]) else { return nil }
        return Stat(state: state, parent: parent, processGroup: group)
    }

    /// Every process visible here, in no particular order.
    public func pids() -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { pid_t($0) }
    }

    /// The live (not zombie) members of process group `group`.
    public func members(ofGroup group: pid_t) -> [pid_t] {
        pids().filter { pid in
            guard let stat = stat(pid) else { return false }
            return stat.processGroup == group && stat.state != "Z"
        }
    }

    /// Whether the process exists and has not exited (a zombie is only waiting to be reaped: not alive).
    public func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = stat(pid) else { return false }
        return stat.state != "Z" && stat.state != "X"
    }

    /// The short command name (`/proc/<pid>/comm`).
    public func name(_ pid: pid_t) -> String? {
        guard let text = try? String(contentsOfFile: "\(root)/\(pid)/comm", encoding: .utf8) else { return nil }
        return text.trimmingSpace()
    }

    /// The command line (`/proc/<pid>/cmdline`): the program and its arguments, or nil when unreadable.
    public func arguments(_ pid: pid_t) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "\(root)/\(pid)/cmdline") else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The environment the process started with (`/proc/<pid>/environ`), or nil when unreadable.
    public func environment(_ pid: pid_t) -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: "\(root)/\(pid)/environ") else { return nil }
        var environment: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return environment
    }

    /// Whether `ancestor` is on the chain of parents of `pid` (a process is not its own descendant).
    public func isDescendant(_ pid: pid_t, of ancestor: pid_t) -> Bool {
        var current = pid
        // The chain is short; the bound guards against a loop read while processes come and go.
        for _ in 0..<4096 {
            guard let parent = stat(current)?.parent, parent > 0 else { return false }
            if parent == ancestor { return true }
            current = parent
        }
        return false
    }
}
