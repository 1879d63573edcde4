import AgentAPI
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

    /// A client for the agent through this tunnel.
    public func client(token: AgentToken?, timeout: Duration = .seconds(300)) -> AgentClient {
        AgentClient(transport: SocketTransport(loopbackPort: localPort), token: token, tokenRule: .podctl, timeout: timeout)
    }
}
