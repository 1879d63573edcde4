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

/// How sshd's state reaches /health, /metrics and the log.
extension SSHDService {
    /// Why sshd keeps failing, for /health and /v2/health/ready.
    func crashLoopReason(port: Int) -> String {
        let why = facts.withLock { $0.portHeldBy }.map { "port \(port) is held by \($0)" } ?? "sshd keeps exiting before it accepts connections"
        return "crash loop: \(why)"
    }

    /// Publishes the current state again with fresh details (after a refused reload).
    func republish() {
        let current = facts.withLock { $0.published }
        report(state: current.state, ready: current.ready, reason: current.reason)
    }

    /// Whether sshd's log line is about one of podagent's own readiness probes (it connects and closes at once).
    func isProbeNoise(_ line: String) -> Bool {
        if line.contains("kex_exchange_identification: Connection closed by remote host") {
            return probesUnlogged.withLock { count in
                guard count > 0 else { return false }
                count -= 1
                return true
            }
        }
        let probes = probePorts.withLock { $0 }
        return probes.contains { line.contains("127.0.0.1 port \($0)") }
    }

    /// "12.3" for a duration, for people.
    static func seconds(_ duration: Duration) -> String {
        decimalText(duration.inSeconds, decimals: 1)
    }

    func report(state: String, ready: Bool, reason: String? = nil) {
        let facts = facts.withLock { $0 }
        var details: [String: String] = ["restarts": String(facts.restarts)]
        if let pid = facts.pid { details["pid"] = String(pid) }
        if let prepared = facts.prepared {
            for key in prepared.hostKeys { details["host_key_\(key.type)"] = key.fingerprint }
            details["authorized_keys"] = prepared.keyCount == 0
                ? "none installed: set PUBLIC_KEY, SSH_PUBLIC_KEY or ssh.authorized_keys" : String(prepared.keyCount)
            if !prepared.keyProblems.isEmpty { details["key_problems"] = prepared.keyProblems.map(\.description).joined(separator: "; ") }
            if let user = prepared.user { details["user"] = user.name }
            details["config"] = prepared.configPath
        }
        details["port"] = String(facts.port)
        if let lastExit = facts.lastExit { details["last_exit"] = lastExit }
        if let lastError = facts.lastError { details["last_error"] = lastError }
        let status = PartStatus(ready: ready, state: state, reason: ready ? nil : reason, details: details)
        self.facts.withLock { $0.published = status }
        readiness.update(Self.part, status)
        metrics.gauge("sshd_up", unit: "bool", help: "1 while sshd accepts connections", value: ready ? 1 : 0)
    }
}
