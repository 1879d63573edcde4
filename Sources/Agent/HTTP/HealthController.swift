import Hummingbird

/// Liveness, readiness and the detailed report: `/v2/health/live`, `/v2/health/ready`, `/health`.
struct HealthController<Context: RequestContext> {
    let agent: PodAgent

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("/v2/health/live") { _, _ in
            try JSONResponse.make(.ok, ["live": true])
        }
        group.get("/v2/health/ready") { _, _ in
            let (ready, reasons) = agent.readiness.evaluate()
            if ready { return try JSONResponse.make(.ok, ["ready": true]) }
            return try JSONResponse.make(.serviceUnavailable, NotReady(ready: false, reasons: reasons))
        }
        group.get("/health") { _, _ in
            let report = agent.healthReport()
            return try JSONResponse.make(.ok, report)
        }
    }

    struct NotReady: Encodable {
        var ready: Bool
        var reasons: [String]
    }
}
