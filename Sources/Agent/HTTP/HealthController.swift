import Hummingbird

/// Liveness, readiness and the detailed report: `/v2/health/live`, `/v2/health/ready`, `/health`.
struct HealthController<Context: RequestContext> {
    let readiness: ReadinessRegistry
    /// Inference's one handle (the routes and jobs use the same); nil when no model plugin exists.
    let inference: InferenceService?
    let reporter: HealthReporter
    /// The models `config.models` enables: /health lists them, and any other model that has workers.
    let enabled: [String]

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("/v2/health/live") { _, _ in
            try JSONResponse.make(.ok, ["live": true])
        }
        group.get("/v2/health/ready") { _, _ in
            let (ready, reasons) = readiness.evaluate()
            if ready { return try JSONResponse.make(.ok, ["ready": true]) }
            return try JSONResponse.make(.serviceUnavailable, NotReady(ready: false, reasons: reasons))
        }
        group.get("/health") { _, _ in
            var report = reporter.report()
            let models = await inference?.index() ?? []
            report.models = models.filter { enabled.contains($0.name) || !$0.instances.isEmpty }
            return try JSONResponse.make(.ok, report)
        }
    }

    struct NotReady: Encodable {
        var ready: Bool
        var reasons: [String]
    }
}
