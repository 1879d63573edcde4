import Compare
import Foundation
import Synchronization

/// A direct-tcpip tunnel from a local ephemeral port to the pod's agent (127.0.0.1:agent_port on the pod),
/// served by one thread that owns the SSH session (libssh sessions must stay on one thread).
public final class AgentTunnel: Sendable {
    public let pod: Pod
    /// The local end: `http://127.0.0.1:<port>`.
    public let localPort: Int
    private let stop: StopFlag
    private let finished: DispatchSemaphore

    /// Shared between the tunnel and its thread (an Atomic cannot be copied into a closure).
    final class StopFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    private init(pod: Pod, localPort: Int, stop: StopFlag, finished: DispatchSemaphore) {
        self.pod = pod
        self.localPort = localPort
        self.stop = stop
        self.finished = finished
    }

    public var baseURL: String { "http://127.0.0.1:\(localPort)" }

    /// Connects (host keys checked per `settings`) and starts forwarding; throws when the session cannot be had.
    public static func open(pod: Pod, settings: ConnectionSettings, remotePort: Int? = nil) throws(ControllerError) -> AgentTunnel {
        let stop = StopFlag()
        let ready = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let outcome = Mutex<(port: Int?, error: ControllerError?)>((nil, nil))
        let thread = Thread {
            do {
                try ForwardCommand.run(pod: pod, settings: settings, localPort: 0, remoteHost: "127.0.0.1",
                                       remotePort: remotePort ?? pod.agentPort, ready: { port in
                    outcome.withLock { $0.port = port }
                    ready.signal()
                }, shouldStop: { stop.value.load(ordering: .relaxed) })
            } catch let error as ControllerError {
                outcome.withLock { $0.error = error }
            } catch {
                outcome.withLock { $0.error = ControllerError(.ssh, "tunnel to \(pod.name): \(error)") }
            }
            if outcome.withLock({ $0.port }) == nil { ready.signal() }
            finished.signal()
        }
        thread.start()
        ready.wait()
        let (port, error) = outcome.withLock { ($0.port, $0.error) }
        guard let port else {
            throw error ?? ControllerError(.ssh, "tunnel to \(pod.name): the forwarder stopped before it listened")
        }
        return AgentTunnel(pod: pod, localPort: port, stop: stop, finished: finished)
    }

    /// Stops forwarding and waits for the session to close.
    public func close() {
        if stop.value.exchange(true, ordering: .relaxed) { return }
        finished.wait()
    }

    /// A transport through this tunnel.
    public func transport(token: String?) throws(ControllerError) -> HTTPAgentTransport {
        do { return try HTTPAgentTransport(baseURL: baseURL, token: token) } catch {
            throw ControllerError(.usage, error.message)
        }
    }
}

/// Where podctl gets the agent's API token: `--token-file`, then `PODCTL_TOKEN`, then the pod's `token_file`.
public enum AgentToken {
    /// The token, or nil when none is configured anywhere (an agent without a token binds 127.0.0.1 only,
    /// which the tunnel reaches). Only the file name ever appears in errors, never the content.
    public static func resolve(tokenFile: String?, environment: [String: String], pod: Pod?) throws(ControllerError) -> String? {
        if let file = tokenFile ?? nil { return try read(file, what: "--token-file") }
        if let token = environment["PODCTL_TOKEN"], !token.isEmpty { return token }
        if let file = pod?.tokenFile { return try read(file, what: "\(pod?.name ?? "pod") token_file") }
        return nil
    }

    static func read(_ path: String, what: String) throws(ControllerError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ControllerError(.usage, "\(what): cannot read \(path)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw ControllerError(.usage, "\(what): \(path) is empty") }
        return token
    }
}
