import Foundation

/// One pod podctl can reach: where, as whom, with which key.
public struct Pod: Sendable, Hashable, Codable {
    public var name: String
    public var host: String
    public var port: Int
    public var user: String
    /// Private key file (already expanded: no `~`), or nil to rely on the ssh-agent.
    public var identity: String?
    public var labels: [String]
    /// The port podagent's HTTP API listens on inside the pod.
    public var agentPort: Int
    /// RunPod's pod id when the entry came from `podctl discover runpod`.
    public var runpodID: String?
    /// File holding the agent's API token (`token_file`, already expanded); its content is never printed.
    public var tokenFile: String?
    /// The agent's URL as podctl reaches it without SSH (`agent_url`, placeholders filled in), e.g. RunPod's
    /// proxy `https://{pod_id}-8080.proxy.runpod.net`; `podctl trust` fetches the host keys from it.
    public var agentURL: String?
    /// The name host keys are pinned and looked up under, as OpenSSH's `HostKeyAlias`: the pod's ssh-config
    /// alias for inventory pods (so a new IP or port keeps the pin); nil for inline `user@host:port` targets.
    public var hostKeyAlias: String?

    public init(name: String, host: String, port: Int = 22, user: String = "root", identity: String? = nil,
                labels: [String] = [], agentPort: Int = 8080, runpodID: String? = nil, agentURL: String? = nil,
                hostKeyAlias: String? = nil) {
        self.name = name
        self.host = host
        self.port = port
        self.user = user
        self.identity = identity
        self.labels = labels
        self.agentPort = agentPort
        self.runpodID = runpodID
        self.agentURL = agentURL
        self.hostKeyAlias = hostKeyAlias
    }
}
