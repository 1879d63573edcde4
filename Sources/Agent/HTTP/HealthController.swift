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
            var report = agent.healthReport()
            let enabled = agent.engine.enabled
            report.models = await agent.engine.index().filter { enabled.contains($0.name) || !$0.instances.isEmpty }
            return try JSONResponse.make(.ok, report)
        }
    }

    struct NotReady: Encodable {
        var ready: Bool
        var reasons: [String]
    }
}
