import ArgumentParser
import Controller
import SSHClient

extension HostKeyPolicy: ExpressibleByArgument {}

/// Target and connection flags every fleet command takes.
struct FleetArguments: ParsableArguments {
    @Option(name: .short, help: "Inventory file (default ./fleet.yaml, then ~/.config/podctl/fleet.yaml).")
    var inventory: String?
    @Option(name: .short, help: "Pods by name pattern, e.g. 'pod[01-04,07]', or user@host:port; repeatable.")
    var w: [String] = []
    @Option(name: .short, help: "Pods with this label; repeatable.")
    var g: [String] = []
    @Option(name: .short, help: "Exclude pods matching this pattern; repeatable.")
    var x: [String] = []
    @Option(name: .short, help: "Fan-out: pods in flight at once.")
    var fanout = 64
    @Option(name: .customLong("host-keys"), help: "Host key policy: strict, accept-new or off.")
    var hostKeys: HostKeyPolicy = .strict
    @Option(name: .customLong("known-hosts"), help: "known_hosts file (default ~/.ssh/known_hosts).")
    var knownHosts: String?
    @Option(name: .customLong("connect-timeout"), help: "Seconds to connect, exchange keys and authenticate.")
    var connectTimeout = 10
    @Option(help: "Seconds of silence while a command runs before a keepalive is sent; 0 turns them off.")
    var keepalive = 30
    @Flag(name: .customLong("no-agent"), help: "Do not try the ssh-agent (SSH_AUTH_SOCK) after the identity files.")
    var noAgent = false
    @Option(name: .short, help: "User for inline hosts that name none.")
    var l = "root"

    func validate() throws {
        if fanout < 1 { throw ValidationError("-f must be at least 1") }
        if connectTimeout < 1 { throw ValidationError("--connect-timeout must be at least 1 second") }
        if keepalive < 0 { throw ValidationError("--keepalive must be 0 (off) or a number of seconds") }
    }

    var options: FleetOptions {
        var options = FleetOptions()
        options.inventoryPath = inventory
        options.targets = TargetSpec(patterns: w, groups: g, excludes: x)
        options.fanout = fanout
        options.hostKeys = hostKeys
        options.knownHosts = knownHosts
        options.connectTimeout = connectTimeout
        options.keepaliveInterval = keepalive
        options.useAgent = !noAgent
        options.defaultUser = l
        return options
    }

    /// The selected pods, after printing the host-key warning when checks are off; with `persist`, the
    /// settings send the work through the mux.
    func pods(persist: PersistArguments? = nil) throws -> (FleetOptions, [Pod]) {
        var options = self.options
        options.persist = try persist?.settings()
        if let warning = options.hostKeyWarning { OutputWriter.stderr.write(warning + "\n") }
        return (options, try options.selectPods())
    }
}
