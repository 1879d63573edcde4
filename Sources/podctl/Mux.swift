import ArgumentParser
import Controller
import Foundation

extension PodctlCommand {
    struct Mux: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The background process that keeps SSH sessions for commands run with --persist.",
            discussion: """
                exec, push, pull, health, infer, forward and compare with --persist DURATION (or PODCTL_PERSIST) send their \
                work to a per-user mux that keeps its libssh sessions open; sessions idle longer than DURATION close, and \
                the mux exits when it holds none. Its socket lives in $XDG_RUNTIME_DIR/podctl (else ~/.cache/podctl/mux).
                """,
            subcommands: [Status.self, Stop.self, Serve.self])

        struct Status: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show the mux's sessions: pods, age, idle time, channels open.")
            @Flag(help: "Print the status as JSON.") var json = false

            func run() throws {
                let directory = MuxDirectory.resolve()
                guard let status = try MuxCommand.status(directory: directory) else {
                    OutputWriter.stdout.write("no mux running (\(directory.socket))\n")
                    return
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    let data = (try? encoder.encode(status)) ?? Data("{}".utf8)
                    OutputWriter.stdout.write(String(decoding: data, as: UTF8.self) + "\n")
                } else {
                    OutputWriter.stdout.write(MuxCommand.table(status))
                }
            }
        }

        struct Stop: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Close the mux's sessions and end it.")

            func run() throws {
                let directory = MuxDirectory.resolve()
                let stopped = try MuxCommand.stop(directory: directory)
                OutputWriter.stdout.write(stopped ? "mux stopped\n" : "no mux running (\(directory.socket))\n")
            }
        }

        struct Serve: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Run the mux in the foreground (podctl starts it by itself; for debugging).", shouldDisplay: false)
            @Option(help: "The mux's directory (default: $XDG_RUNTIME_DIR/podctl, else ~/.cache/podctl/mux).") var dir: String?

            func run() throws {
                let status = MuxCommand.serve(directory: MuxDirectory.resolve(override: dir))
                if status != 0 { throw ExitCode(status) }
            }
        }
    }
}
