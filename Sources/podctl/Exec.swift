import ArgumentParser
import Controller

extension PodctlCommand {
    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command on every target pod.",
            discussion: "Exit status: 0 when every pod succeeded, else 1; with -S the largest remote code (124 timed out, 255 not run).")

        @OptionGroup var fleet: FleetArguments
        @OptionGroup var persistence: PersistArguments
        @Flag(name: [.short, .customLong("gather")], help: "Fold pods with identical output and exit code.") var b = false
        @Flag(name: .short, help: "Exit with the largest remote exit code.") var S = false
        @Flag(help: "One JSON record per pod.") var json = false
        @Option(name: [.short, .customLong("timeout")], help: "Seconds before the command is ended on the pod (its whole process group).")
        var u: Double?
        @Flag(help: "Print pod output as sent: no control characters made visible, lines split at \\n only.") var raw = false
        @Option(name: .customLong("max-output"), help: "With -b or --json: bytes kept per pod and stream (first and last half), e.g. 512K, 4M, none.")
        var maxOutput = "1M"
        @Argument(parsing: .postTerminator, help: "The command (after --).") var command: [String] = []

        func validate() throws {
            if command.isEmpty { throw ValidationError("give the command after --, e.g. podctl exec -- uptime") }
            if b && json { throw ValidationError("--gather and --json exclude each other") }
            if let u, !(u > 0) { throw ValidationError("-u must be a positive number of seconds") }
            do { _ = try ByteSize.parse(maxOutput) } catch { throw ValidationError("--max-output: \(error.message)") }
        }

        func run() throws {
            let (options, pods) = try fleet.pods(persist: persistence)
            let cap = try? ByteSize.parse(maxOutput)
            let request = ExecRequest(command: command.joined(separator: " "), timeout: u, fanout: options.fanout,
                                      maxOutput: cap ?? nil)
            let status = ExecCommand.run(pods: pods, request: request, settings: options.settings,
                                         mode: json ? .json : b ? .gather : .stream, maxRemoteCode: S, filter: raw ? .raw : .safe)
            if status != 0 { throw ExitCode(status) }
        }
    }
}
