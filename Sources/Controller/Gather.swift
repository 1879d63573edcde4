/// Folds pods with identical output and exit code under one header, as `clush -b` and `dshbak -c` do.
public enum Gather {
    public struct Block: Sendable, Equatable {
        public var names: [String]
        public var exitCode: Int32?
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var stdoutCut: OutputCut?
        public var stderrCut: OutputCut?
        /// The compressed name range, e.g. `pod[01-05,07]`.
        public var header: String { HostRange.fold(names) }
    }

    /// Blocks for pods that ran the command (ok, failed or timed out), in order of first appearance.
    public static func blocks(_ results: [PodResult]) -> [Block] {
        struct Key: Hashable {
            var stdout: [UInt8]; var stderr: [UInt8]; var exit: Int32?; var signal: String?
            var stdoutCut: OutputCut?; var stderrCut: OutputCut?
        }
        var order: [Key] = []
        var members: [Key: [String]] = [:]
        for result in results where [.ok, .failed, .timedOut].contains(result.status) {
            let key = Key(stdout: result.stdout, stderr: result.stderr, exit: result.exitCode, signal: result.signal,
                          stdoutCut: result.stdoutCut, stderrCut: result.stderrCut)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(result.pod.name)
        }
        return order.map {
            Block(names: members[$0] ?? [], exitCode: $0.exit, stdout: $0.stdout, stderr: $0.stderr,
                  stdoutCut: $0.stdoutCut, stderrCut: $0.stderrCut)
        }
    }

    /// The text printed for the blocks (`render(_:filter:limit:)` as a string).
    public static func render(_ blocks: [Block], filter: OutputFilter = .safe, limit: Int? = nil) -> String {
        String(decoding: renderBytes(blocks, filter: filter, limit: limit), as: UTF8.self)
    }

    /// The bytes printed for the blocks: control characters through `filter`, and where `--max-output`
    /// (`limit`) dropped the middle of a stream, a line saying how much.
    public static func renderBytes(_ blocks: [Block], filter: OutputFilter = .safe, limit: Int? = nil) -> [UInt8] {
        var text: [UInt8] = []
        let rule = String(repeating: "-", count: 15)
        for block in blocks {
            let code = block.exitCode.map { " (exit \($0))" } ?? ""
            text += Array("\(rule)\n\(block.header)\(code)\n\(rule)\n".utf8)
            appendLines(block.stdout, cut: block.stdoutCut, stream: "stdout", prefix: [], keepEmpty: true,
                        filter: filter, limit: limit, to: &text)
            appendLines(block.stderr, cut: block.stderrCut, stream: "stderr", prefix: Array("[stderr] ".utf8), keepEmpty: false,
                        filter: filter, limit: limit, to: &text)
        }
        return text
    }

    private static func appendLines(_ bytes: [UInt8], cut: OutputCut?, stream: String, prefix: [UInt8], keepEmpty: Bool,
                                    filter: OutputFilter, limit: Int?, to text: inout [UInt8]) {
        func lines(_ part: ArraySlice<UInt8>) {
            var splitter = LineSplitter(maxPending: max(LineSplitter.defaultMaxPending, part.count + 1),
                                        splitOnCarriageReturn: filter == .safe)
            let emit: (ArraySlice<UInt8>) -> Void = { line in
                guard keepEmpty || !line.isEmpty else { return }
                text += prefix
                filter.append(line, to: &text)
                text.append(0x0A)
            }
            splitter.feed(Array(part), line: emit)
            splitter.finish(line: emit)
        }
        guard let cut else {
            lines(bytes[...])
            return
        }
        lines(bytes[..<cut.at])
        let kept = limit.map { " (--max-output \(ByteSize.format($0)) keeps the first and last \(ByteSize.format($0 / 2)))" } ?? ""
        text += Array("[... podctl: \(cut.dropped) bytes of \(stream) dropped here\(kept) ...]\n".utf8)
        lines(bytes[cut.at...])
    }
}
