import AgentAPI
import Foundation
import PodAgentExtras
import SSHClient
import Synchronization

/// `podctl trust`: fetches each pod's sshd host keys from its agent (`GET {agent_url}/v2/ssh/host-keys`,
/// libcurl, TLS verified, the pod's token) and pins them in known_hosts under the pod's alias and its
/// `[host]:port`, so the first SSH connection is already checked strictly. docs/podctl.md has the trust model.
public enum TrustCommand {
    /// Largest answer read from an agent (a few keys are a few hundred bytes).
    static let maxAnswerBytes = 1 << 20

    public struct Options: Sendable {
        public var knownHostsFile: String
        /// PEM certificates to trust for the agents' https instead of the system's CAs.
        public var caFile: String?
        /// `--token-file`; then `PODCTL_TOKEN`, then the pod's `token_file` (the rule `infer` and `compare` use).
        public var tokenFile: String?
        public var environment: [String: String]
        public var timeout: Int
        public var fanout: Int

        public init(knownHostsFile: String, caFile: String? = nil, tokenFile: String? = nil,
                    environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Int = 30, fanout: Int = 16) {
            self.knownHostsFile = knownHostsFile
            self.caFile = caFile
            self.tokenFile = tokenFile
            self.environment = environment
            self.timeout = timeout
            self.fanout = fanout
        }
    }

    /// One pod's outcome.
    public struct Result: Sendable, Equatable {
        public enum Status: String, Sendable {
            /// New entries were written.
            case pinned
            /// Every key was already pinned under every name.
            case unchanged
            /// known_hosts pins a different key for the pod: nothing was written.
            case refused
            /// The keys could not be had (no agent_url, TLS, token, agent error).
            case failed
        }

        public var pod: String
        public var status: Status
        /// The known_hosts names the keys were (or would be) pinned under.
        public var names: [String]
        public var keys: [AgentHostKey]
        public var message: String

        public var succeeded: Bool { status == .pinned || status == .unchanged }

        /// The line `podctl trust` prints for it.
        public var line: String { "\(pod): \(message)" }
    }

    /// Trusts every pod, `options.fanout` at a time; results in the pods' order.
    public static func run(pods: [Pod], options: Options) -> [Result] {
        let results = Mutex<[Result?]>(Array(repeating: nil, count: pods.count))
        FanOut.run(count: pods.count, width: options.fanout) { index in
            let result = trust(pods[index], options: options)
            results.withLock { $0[index] = result }
        }
        return results.withLock {
            $0.enumerated().map { $1 ?? Result(pod: pods[$0].name, status: .failed, names: [], keys: [], message: "not run") }
        }
    }

    /// Fetches and pins one pod's keys.
    public static func trust(_ pod: Pod, options: Options) -> Result {
        let names = ConnectionSettings.endpoint(pod).knownHostsNames
        var result = Result(pod: pod.name, status: .failed, names: names, keys: [], message: "")
        do {
            let token = try AgentToken.resolve(flagFile: options.tokenFile, environment: options.environment, configuredFile: pod.tokenFile,
                                               rule: .podctl)
            result.keys = try fetch(pod, token: token, caFile: options.caFile, timeout: options.timeout)
        } catch let error as any CommandLineError {
            result.message = error.message
            return result
        } catch {
            result.message = "\(error)"
            return result
        }
        let summary = result.keys.map { "\($0.key.type) \($0.fingerprint)" }.joined(separator: ", ")
        let pinned: KnownHostsFile.PinResult
        do {
            pinned = try KnownHostsFile(path: options.knownHostsFile).pin(result.keys.map(\.key), names: names)
        } catch {
            result.message = "cannot pin its host keys: \(error.message)"
            return result
        }
        switch pinned {
        case .pinned(let added, _) where added.isEmpty:
            result.status = .unchanged
            result.message = "already pinned as \(names.joined(separator: " and ")) (\(summary))"
        case .pinned(let added, _):
            result.status = .pinned
            result.message = "pinned \(added.count) known_hosts entr\(added.count == 1 ? "y" : "ies") as \(names.joined(separator: " and ")) (\(summary))"
        case .refused(let conflicts):
            result.status = .refused
            let details = conflicts.map { conflict in
                "\(conflict.name) pins \(conflict.pinned.type) \(conflict.pinned.fingerprint), "
                    + "the agent reports \(conflict.offered.fingerprint)"
            }
            let first = conflicts.first?.name ?? names[0]
            result.message = """
                REFUSED: HOST KEY CHANGED: \(details.joined(separator: "; ")). Nothing was pinned for this pod. \
                If the pod was recreated, remove the old entry (ssh-keygen -R '\(first)' -f \(options.knownHostsFile)) \
                and run podctl trust again; otherwise someone may be impersonating it
                """
        }
        return result
    }

    /// `GET {agent_url}/v2/ssh/host-keys` over libcurl (TLS verified): the agent's keys, each read by libssh
    /// and its fingerprint recomputed here. The token goes only into the Authorization header, never into a message.
    public static func fetch(_ pod: Pod, token: AgentToken?, caFile: String?, timeout: Int) throws(ControllerError) -> [AgentHostKey] {
        guard let base = pod.agentURL else {
            throw ControllerError(.usage, "no agent_url in the fleet file (set agent_url, or run podctl discover runpod)")
        }
        try requireAuthenticatedChannel(base)
        let answer: HostKeyList
        do {
            let transport = try CurlAgentTransport(baseURL: base, caFile: caFile, maxResponseBytes: maxAnswerBytes)
            let client = AgentClient(transport: transport, token: token, label: "the agent at \(base)", tokenRule: .podctl,
                                     timeout: .seconds(max(1, timeout)))
            answer = try client.hostKeys()
        } catch {
            throw ControllerError(error.code == .usage ? .usage : .io, hostKeysProblem(error, base: base, caFile: caFile))
        }
        guard !answer.hostKeys.isEmpty else { throw ControllerError(.io, "the agent at \(base) reported no host key") }
        var keys: [AgentHostKey] = []
        for entry in answer.hostKeys {
            let key: SSHPublicKey
            do { key = try SSHPublicKey(type: entry.type, base64: entry.publicKey) } catch {
                throw ControllerError(.io, "the agent at \(base) reported a key podctl cannot read: \(error.message)")
            }
            let fingerprint = key.fingerprint
            guard fingerprint == entry.fingerprint else {
                throw ControllerError(.io, "the agent at \(base) reported \(entry.type) with fingerprint \(entry.fingerprint), but its key hashes to \(fingerprint)")
            }
            if !keys.contains(where: { $0.key == key }) { keys.append(AgentHostKey(key: key, fingerprint: fingerprint)) }
        }
        return keys
    }

    /// Why the keys could not be had, with what to do about it.
    static func hostKeysProblem(_ error: AgentAPIError, base: String, caFile: String?) -> String {
        switch error.code {
        case .transport, .timeout:
            let hint = error.message.localizedCaseInsensitiveContains("certificate") && caFile == nil
                ? " (an agent behind a private CA or a self-signed certificate needs --agent-ca FILE)" : ""
            return "cannot fetch the host keys from the agent: \(error.message)\(hint)"
        case .notFound:
            return "\(error.message); is it an older podagent without /v2/ssh/host-keys?"
        case .unavailable:
            return "the agent cannot tell its host keys: \(error.message)"
        default:
            return error.message
        }
    }

    /// Plain HTTP authenticates nothing (anyone on the path could hand over their own keys, and would see
    /// the token): only https, or http to this machine's loopback (a test, or an agent reached locally).
    static func requireAuthenticatedChannel(_ base: String) throws(ControllerError) {
        let url: AgentURL
        do { url = try AgentURL(base) } catch { throw ControllerError(.usage, "agent_url: \(error.message)") }
        if url.scheme == "https" || url.isLoopback { return }
        throw ControllerError(.usage, "agent_url \(base) is plain HTTP: it cannot prove the keys come from the pod (use https)")
    }
}
