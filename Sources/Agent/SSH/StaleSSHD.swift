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
import Logging
import PodAgentExtras

/// An sshd that an earlier podagent left running on our port, found through our pid file.
///
/// podagent's children die with it (parent-death signal), but an sshd started by an older podagent,
/// or one whose podagent was killed before it could pass the signal on, keeps our port: the next
/// start could not bind and the pod would stay not ready. Before starting sshd, podagent ends such a
/// process when it is provably ours (its command line runs our sshd_config), and removes a pid file
/// whose process is gone or is something else (a reused pid is never killed).
struct StaleSSHD: Sendable {
    let pidFile: String
    let configPath: String
    let port: Int
    let logger: Logger
    var proc = ProcFS()

    /// What ``clear()`` found and did.
    enum Outcome: Equatable {
        case none
        case removedPidFile(pid_t?)
        case ended(pid_t)
        case couldNotEnd(pid_t)
    }

    /// Ends our stale sshd (SIGTERM, then SIGKILL after `grace`) and removes a stale pid file.
    @discardableResult
    func clear(grace: Duration = .seconds(2)) async -> Outcome {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return .none }
        guard let pid = pid_t(text.trimmingSpace()), pid > 1 else {
            unlink(pidFile)
            logger.notice("removed a damaged sshd pid file", metadata: ["file": "\(pidFile)"])
            return .removedPidFile(nil)
        }
        guard proc.isAlive(pid), isOurs(pid) else {
            unlink(pidFile)
            logger.notice("removed a stale sshd pid file (its process is gone or is not our sshd)", metadata: ["file": "\(pidFile)", "pid": "\(pid)"])
            return .removedPidFile(pid)
        }
        logger.warning("an sshd left by an earlier podagent runs with our configuration; ending it to take over port \(port)", metadata: ["pid": "\(pid)"])
        kill(pid, SIGTERM)
        if await !waitForExit(pid, within: grace) {
            kill(pid, SIGKILL)
            guard await waitForExit(pid, within: grace) else {
                logger.error("the stale sshd does not end", metadata: ["pid": "\(pid)"])
                return .couldNotEnd(pid)
            }
        }
        unlink(pidFile)
        // The listening socket closes with the process; give the kernel a moment to release the port.
        let deadline = ContinuousClock.now + grace
        while PortProbe.connectLoopback(port: port, timeout: 50) != nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return .ended(pid)
    }

    /// An sshd running our config file: its executable is sshd, and its command line holds
    /// `-f <configPath>` (sshd rewrites its argv into one title line, `sshd: /usr/sbin/sshd -D -e -f
    /// <path> [listener] ...`, so the words are looked for in the joined line; sshd re-executes itself
    /// with the same arguments on SIGHUP, so this holds for a reloaded one too).
    func isOurs(_ pid: pid_t) -> Bool {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"),
              PathNames.lastComponent(executable).hasPrefix("sshd"),
              let arguments = proc.arguments(pid) else { return false }
        let words = arguments.joined(separator: " ").split(separator: " ").map(String.init)
        return zip(words, words.dropFirst()).contains { $0 == "-f" && $1 == configPath }
    }

    private func waitForExit(_ pid: pid_t, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while proc.isAlive(pid) {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}
