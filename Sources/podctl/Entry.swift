import ArgumentParser
import Controller
import Foundation
import PodAgentExtras

@main
struct PodctlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podctl",
        abstract: "Drive fleets of GPU pods over SSH.",
        version: PodctlVersion.current,
        subcommands: [Exec.self, Health.self, Push.self, Pull.self, Forward.self, Infer.self, CompareModels.self, SSHConfig.self,
                      Code.self, Discover.self, Trust.self, Mux.self, Version.self]
    )

    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print podctl's version and the libraries it uses.")
        func run() {
            print("podctl \(PodctlVersion.current) (\(PodctlVersion.libraries))")
        }
    }

    /// Parses, runs, and is the one place podctl shows an error: each module's error knows its row
    /// of ``ProgramExit``; swift-argument-parser's usage errors exit 2 like ours, `--help` and ExitCode as usual.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as any CommandLineError {
            Foundation.exit(error.report(program: "podctl"))
        } catch where exitCode(for: error) == .validationFailure {
            OutputWriter.stderr.write(fullMessage(for: error) + "\n")
            Foundation.exit(ProgramExit.usage.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}
