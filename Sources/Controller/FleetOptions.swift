import Foundation
import SSHClient

/// Everything that picks pods and says how to reach them; shared by every podctl command.
public struct FleetOptions: Sendable {
    public var inventoryPath: String?
    public var targets = TargetSpec()
    public var fanout = 64
    public var hostKeys: HostKeyPolicy = .strict
    public var knownHosts: String?
    public var connectTimeout = 10
    /// Seconds of silence before a keepalive while a command runs; 0 turns them off.
    public var keepaliveInterval = 30
    /// Whether the ssh-agent is tried after the identity files.
    public var useAgent = true
    /// User for inline targets that name none.
    public var defaultUser = "root"
    /// `--persist`: run through the mux, keeping sessions this long when idle.
    public var persist: PersistSettings?
    /// Home directory (HOME unless overridden, e.g. by tests).
    public var home: String
    public var currentDirectory: String

    public init(home: String? = nil, currentDirectory: String? = nil) {
        self.home = home ?? ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        self.currentDirectory = currentDirectory ?? FileManager.default.currentDirectoryPath
    }

    public var knownHostsFile: String { expandTilde(knownHosts ?? "~/.ssh/known_hosts", home: home) }

    /// `path` with a leading `~` replaced by ``home``.
    public func expandingTilde(_ path: String) -> String { expandTilde(path, home: home) }

    public var settings: ConnectionSettings {
        ConnectionSettings(ssh: SSHConnectOptions(knownHostsFile: knownHostsFile, hostKeyPolicy: hostKeys, connectTimeout: connectTimeout,
                                                  keepaliveInterval: keepaliveInterval, useAgent: useAgent),
                           persist: persist)
    }

    /// The inventory: `-i FILE`, else `./fleet.yaml`, else `~/.config/podctl/fleet.yaml`, else empty.
    public func loadInventory() throws(ControllerError) -> Inventory {
        if let inventoryPath {
            return try Inventory.load(path: expandTilde(inventoryPath, home: home), home: home)
        }
        if let found = Inventory.defaultPath(home: home, currentDirectory: currentDirectory) {
            return try Inventory.load(path: found, home: home)
        }
        return Inventory(pods: [])
    }

    /// The pods this run targets.
    public func selectPods() throws(ControllerError) -> [Pod] {
        let inventory = try loadInventory()
        let sshConfig = SSHConfigHosts.load(path: "\(home)/.ssh/config", home: home)
        let selector = TargetSelector(inventory: inventory, sshConfig: sshConfig,
                                      fallback: Pod(name: "", host: "", user: defaultUser))
        return try selector.select(targets)
    }

    /// A warning to print before connecting, when host keys are not checked.
    public var hostKeyWarning: String? {
        hostKeys == .off ? "podctl: warning: host keys are NOT checked (--host-keys off); anyone on the path can impersonate these pods" : nil
    }
}
