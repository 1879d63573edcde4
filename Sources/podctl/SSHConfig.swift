import ArgumentParser
import Controller

extension PodctlCommand {
    struct SSHConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ssh-config",
            abstract: "Print Host entries for the target pods; --write puts them in ~/.ssh/podctl/config with an Include in ~/.ssh/config.")

        @OptionGroup var fleet: FleetArguments
        @Flag(help: "Write the files (under a lock; idempotent).") var write = false

        func run() throws {
            let (options, pods) = try fleet.pods()
            let writer = SSHConfigWriter(home: options.home)
            guard write else {
                print(writer.render(pods, knownHostsFile: options.knownHostsFile, policy: options.hostKeys), terminator: "")
                return
            }
            let added = try writer.write(pods, knownHostsFile: options.knownHostsFile, policy: options.hostKeys)
            print("wrote \(writer.podctlConfig) (\(pods.count) hosts)" + (added ? "; added '\(writer.includeLine)' to \(writer.userConfig)" : ""))
        }
    }
}
