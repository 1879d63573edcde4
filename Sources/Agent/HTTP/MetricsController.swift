import Hummingbird

/// Prometheus text exposition: `GET /metrics`.
struct MetricsController<Context: RequestContext> {
    let metrics: AgentMetrics
    let readiness: ReadinessRegistry
    let gpu: GPUMonitor
    /// Counts the orphans it reaped.
    let supervisor: Supervisor
    let startedAt: ContinuousClock.Instant

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("/metrics") { _, _ in
            metrics.gauge("uptime", unit: "seconds", help: "Seconds since podagent started", value: (ContinuousClock.now - startedAt).inSeconds)
            metrics.gauge("orphans_reaped", unit: "count", help: "Orphaned processes reaped", value: Double(supervisor.orphansReaped))
            metrics.record(gpu: gpu.latest)
            for (name, status) in readiness.snapshot {
                metrics.gauge("part_ready", unit: "bool", help: "1 when a managed part is ready", labels: [("part", name)], value: status.ready ? 1 : 0)
            }
            let text = metrics.registry.emitToBuffer()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
    }
}
