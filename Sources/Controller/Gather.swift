/// Folds pods with identical output and exit code under one header, as `clush -b` and `dshbak -c` do.
public enum Gather {
    public struct Block: Sendable, Equatable {
        public var names: [String]
        public var exitCode: Int32?
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        /// The compressed name range, e.g. `pod[01-05,07]`.
        public var header: String { HostRange.fold(names) }
    }

    /// Blocks for pods that ran the command (ok, failed or timed out), in order of first appearance.
    public static func blocks(_ results: [PodResult]) -> [Block] {
        struct Key: Hashable { var stdout: [UInt8]; var stderr: [UInt8]; var exit: Int32?; var signal: String? }
        var order: [Key] = []
        var members: [Key: [String]] = [:]
        for result in results where [.ok, .failed, .timedOut].contains(result.status) {
            let key = Key(stdout: result.stdout, stderr: result.stderr, exit: result.exitCode, signal: result.signal)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(result.pod.name)
        }
        return order.map { Block(names: members[$0] ?? [], exitCode: $0.exit, stdout: $0.stdout, stderr: $0.stderr) }
    }

    /// The text printed for the blocks.
    public static func render(_ blocks: [Block]) -> String {
        var text = ""
        for block in blocks {
            let rule = String(repeating: "-", count: 15)
            let code = block.exitCode.map { " (exit \($0))" } ?? ""
            text += "\(rule)\n\(block.header)\(code)\n\(rule)\n"
            text += String(decoding: block.stdout, as: UTF8.self)
            if !block.stdout.isEmpty, block.stdout.last != 0x0A { text += "\n" }
            if !block.stderr.isEmpty {
                for line in String(decoding: block.stderr, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                    where !line.isEmpty {
                    text += "[stderr] \(line)\n"
                }
            }
        }
        return text
    }
}

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
