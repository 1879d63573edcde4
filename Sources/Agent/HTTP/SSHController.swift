import Hummingbird

/// sshd's host keys, so a client can pin them before its first SSH connection: `GET /v2/ssh/host-keys`.
///
/// Behind the API token like every non-probe route (AuthMiddleware). The answer is only as trustworthy
/// as the channel it came over: podctl fetches it over HTTPS (docs/podctl.md, "Trusting host keys").
struct SSHController<Context: RequestContext> {
    let hostKeys: HostKeyBoard

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("/v2/ssh/host-keys") { _, _ in
            switch hostKeys.current {
            case .ready(let keys):
                return try JSONResponse.make(.ok, HostKeyList(hostKeys: keys))
            case .notManaged(let reason):
                throw AgentError(.unavailable, "\(reason): its host keys are unknown to the agent")
            case .preparing:
                throw AgentError(.notReady, "sshd's host keys are not ready yet (sshd is being prepared); try again shortly", retryAfterSeconds: 2)
            case .failed(let reason):
                throw AgentError(.unavailable, "sshd could not be prepared, so it serves no host key: \(reason)")
            }
        }
    }

    struct HostKeyList: Encodable {
        var hostKeys: [SSHHostKey]
        enum CodingKeys: String, CodingKey { case hostKeys = "host_keys" }
    }
}
