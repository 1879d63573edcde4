import Foundation
import SSHClient
import Synchronization

/// Set by SIGINT/SIGTERM so long-running commands (forward) stop cleanly.
public enum Interrupt {
    static let flag = Atomic<Bool>(false)

    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Installs handlers for SIGINT and SIGTERM that only set the flag.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in Interrupt.flag.store(true, ordering: .relaxed) }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    /// For tests and embedders: ask a running forward to stop.
    public static func request() { flag.store(true, ordering: .relaxed) }
    public static func reset() { flag.store(false, ordering: .relaxed) }
}

/// `podctl forward POD [LOCAL:]REMOTE`.
public enum ForwardCommand {
    /// Parses `[LOCAL:]REMOTE` or `[LOCAL:]HOST:REMOTE`; LOCAL 0 or missing picks the same port as REMOTE.
    public static func parse(_ spec: String) throws(ControllerError) -> (local: Int, host: String, remote: Int) {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func port(_ text: String) throws(ControllerError) -> Int {
            guard let value = Int(text), (0...65535).contains(value) else {
                throw ControllerError(.usage, "'\(text)' in '\(spec)' is not a port number")
            }
            return value
        }
        switch parts.count {
        case 1: let remote = try port(parts[0]); return (remote, "127.0.0.1", remote)
        case 2: return (try port(parts[0]), "127.0.0.1", try port(parts[1]))
        case 3: return (try port(parts[0]), parts[1], try port(parts[2]))
        default: throw ControllerError(.usage, "'\(spec)' is not [LOCAL:]REMOTE or LOCAL:HOST:REMOTE")
        }
    }

    /// Connects and forwards until `shouldStop` (on this thread: the session stays on it).
    public static func run(pod: Pod, settings: ConnectionSettings, localPort: Int, remoteHost: String, remotePort: Int,
                           ready: (Int) -> Void, shouldStop: () -> Bool) throws(ControllerError) {
        if let persist = settings.persist {
            try MuxClient(persist).forward(pod: pod, settings: settings, localPort: localPort, remoteHost: remoteHost,
                                           remotePort: remotePort, ready: ready, shouldStop: shouldStop)
            return
        }
        do {
            let session = try settings.connect(pod)
            try session.forward(localPort: localPort, remoteHost: remoteHost, remotePort: remotePort,
                                ready: ready, shouldStop: shouldStop)
        } catch {
            throw ControllerError(.ssh, "forward to \(pod.name): \(error.message)")
        }
    }
}
