import Foundation

/// How `podctl exec` prints.
public enum ExecOutputMode: Sendable {
    /// `name: line` as lines arrive.
    case stream
    /// Identical output and exit code folded under one header, printed at the end.
    case gather
    /// One JSON record per pod as each finishes.
    case json
}

/// `podctl exec`: run, print, summarise, and compute the exit status.
public enum ExecCommand {
    public static func run(pods: [Pod], request: ExecRequest, settings: ConnectionSettings, mode: ExecOutputMode,
                           maxRemoteCode: Bool, filter: OutputFilter = .safe,
                           out: OutputWriter = .stdout, err: OutputWriter = .stderr) -> Int32 {
        let progress = ProgressLine.onTerminal(total: pods.count, writer: err)
        let sink: any OutputSink
        switch mode {
        case .stream: sink = LinePrinter(out: out, err: err, progress: progress, filter: filter)
        case .gather: sink = ProgressOnly(progress: progress)
        case .json: sink = JSONPrinter(out: out, progress: progress)
        }
        var request = request
        request.keepOutput = mode != .stream
        let results = ExecRunner.run(pods: pods, request: request, settings: settings, sink: sink)
        progress?.clear()
        if mode == .gather { out.write(Gather.renderBytes(Gather.blocks(results), filter: filter, limit: request.maxOutput)) }
        let truncated = results.filter { $0.stdoutCut != nil || $0.stderrCut != nil }.map(\.pod.name)
        if mode == .gather, !truncated.isEmpty {
            err.write("podctl: output cut to --max-output \(request.maxOutput.map(ByteSize.format) ?? "none") per stream: \(HostRange.fold(truncated))\n")
        }
        let summary = RunSummary(results)
        if mode != .json {
            err.write(summary.lines.map { "podctl: \($0)\n" }.joined())
        }
        return summary.exitStatus(maxRemoteCode: maxRemoteCode)
    }
}
