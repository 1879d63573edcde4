/// The closing summary and the run's exit status.
public struct RunSummary: Sendable {
    public var results: [PodResult]

    public init(_ results: [PodResult]) { self.results = results }

    private func names(_ status: PodStatus) -> [String] {
        results.filter { $0.status == status }.map(\.pod.name)
    }

    public var allOK: Bool { results.allSatisfy { $0.status == .ok } }

    /// 0 only when every pod succeeded; with `maxRemoteCode` (`-S`) the largest per-pod code.
    public func exitStatus(maxRemoteCode: Bool) -> Int32 {
        if maxRemoteCode { return results.map(\.scriptCode).max() ?? 0 }
        return allOK ? 0 : 1
    }

    /// Lines for stderr, e.g. `failed: pod[03,05] (exit 2)`.
    public var lines: [String] {
        let ok = names(.ok)
        var counts = "\(results.count) pods: \(ok.count) ok"
        var lines: [String] = []
        let failed = results.filter { $0.status == .failed }
        counts += ", \(failed.count) failed"
        let problems: [(PodStatus, String)] = [(.unreachable, "unreachable"), (.hostKey, "host key refused"),
                                                (.auth, "auth failed"), (.timedOut, "timed out"), (.error, "error")]
        for (status, label) in problems {
            let count = names(status).count
            if count > 0 || status == .unreachable || status == .timedOut { counts += ", \(count) \(label)" }
        }
        lines.append(counts)
        if !ok.isEmpty { lines.append("ok: \(HostRange.fold(ok))") }
        var byCode: [String: [String]] = [:]
        for result in failed {
            let reason = result.signal.map { "killed by signal \($0)" } ?? "exit \(result.exitCode.map(String.init) ?? "?")"
            byCode[reason, default: []].append(result.pod.name)
        }
        for (reason, pods) in byCode.sorted(by: { $0.key < $1.key }) {
            lines.append("failed: \(HostRange.fold(pods)) (\(reason))")
        }
        for (status, label) in problems {
            for result in results where result.status == status {
                lines.append("\(label): \(result.pod.name): \(result.errorMessage ?? status.rawValue)")
            }
        }
        return lines
    }
}
