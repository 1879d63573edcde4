import ArgumentParser
import Controller

@main
struct PodctlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podctl",
        abstract: "Drive fleets of GPU pods over SSH.",
        version: PodctlVersion.current,
        subcommands: [Version.self]
    )

    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print podctl's version and the libraries it uses.")
        func run() {
            print("podctl \(PodctlVersion.current) (\(PodctlVersion.libraries))")
        }
    }
}
