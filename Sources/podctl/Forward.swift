import ArgumentParser
import Controller

extension PodctlCommand {
    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forward a local port into a pod (direct-tcpip) until interrupted.",
            discussion: "SPEC is [LOCAL:]REMOTE or LOCAL:HOST:REMOTE; LOCAL 0 picks a free port. Example: podctl forward pod01 8080")

        @OptionGroup var fleet: FleetArguments
        @OptionGroup var persistence: PersistArguments
        @Argument(help: "The pod.") var pod: String
        @Argument(help: "[LOCAL:]REMOTE port.") var spec: String

        func run() throws {
            var arguments = fleet
            arguments.w = [pod]
            let (options, pods) = try arguments.pods(persist: persistence)
            guard pods.count == 1, let target = pods.first else {
                throw ControllerError(.usage, "forward takes exactly one pod; '\(pod)' selects \(pods.count)")
            }
            let (local, host, remote) = try ForwardCommand.parse(spec)
            Interrupt.install()
            try ForwardCommand.run(pod: target, settings: options.settings, localPort: local, remoteHost: host,
                                   remotePort: remote, ready: { port in
                OutputWriter.stdout.write("forwarding 127.0.0.1:\(port) -> \(target.name) \(host):\(remote) (Ctrl-C to stop)\n")
            }, shouldStop: { Interrupt.requested })
        }
    }
}
