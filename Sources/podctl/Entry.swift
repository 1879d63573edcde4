import ArgumentParser
import Controller

@main
struct PodctlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podctl",
        abstract: "Drive fleets of GPU pods over SSH.",
        version: PodctlVersion.current,
        subcommands: [Exec.self, Health.self, Push.self, Pull.self, Forward.self, Infer.self, Compare.self, SSHConfig.self, Code.self,
                      Discover.self, Trust.self, Mux.self, Version.self]
    )

    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print podctl's version and the libraries it uses.")
        func run() {
            print("podctl \(PodctlVersion.current) (\(PodctlVersion.libraries))")
        }
    }
}

/// Prints a Controller error and exits with its status (the one place errors meet the terminal).
func fail(_ error: ControllerError) -> ExitCode {
    OutputWriter.stderr.write("podctl: error: \(error.message)\n")
    return ExitCode(error.exitCode)
}
