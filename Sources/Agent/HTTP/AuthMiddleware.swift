import Hummingbird
import PodAgentExtras

/// Requires `Authorization: Bearer <token>` on every route but the open ones.
///
/// With no token configured it lets everything through: the server is then bound to 127.0.0.1 only
/// (see ``AgentSetup/bindHost``), reachable through an SSH tunnel.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: APIToken?
    /// Paths served without the token (liveness and readiness probes; /metrics when configured).
    let openPaths: Set<String>

    init(token: APIToken?, metricsPublic: Bool) {
        self.token = token
        var open: Set<String> = ["/v2/health/live", "/v2/health/ready"]
        if metricsPublic { open.insert("/metrics") }
        self.openPaths = open
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, !openPaths.contains(request.uri.path) else {
            return try await next(request, context)
        }
        guard let header = request.headers.value(.authorization) else {
            throw AgentError(.unauthorized, "this route needs the API token: send 'Authorization: Bearer <token>'")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw AgentError(.unauthorized, "the Authorization header must use the Bearer scheme")
        }
        guard token.matches(parts[1].trimmingSpace(newlines: false)) else {
            throw AgentError(.unauthorized, "the bearer token is wrong")
        }
        return try await next(request, context)
    }
}
