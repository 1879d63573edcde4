import Hummingbird

/// Prometheus text exposition: `GET /metrics`.
struct MetricsController<Context: RequestContext> {
    let agent: PodAgent

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("/metrics") { _, _ in
            agent.metrics.gauge("uptime", unit: "seconds", help: "Seconds since podagent started", value: agent.uptime)
            agent.metrics.gauge("orphans_reaped", unit: "count", help: "Orphaned processes reaped", value: Double(agent.supervisor.orphansReaped))
            agent.metrics.record(gpu: agent.gpu.latest)
            for (name, status) in agent.readiness.snapshot {
                agent.metrics.gauge("part_ready", unit: "bool", help: "1 when a managed part is ready", labels: [("part", name)], value: status.ready ? 1 : 0)
            }
            let text = agent.metrics.registry.emitToBuffer()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
    }
}
