#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Prometheus

/// podagent's Prometheus registry and the metrics every part shares.
///
/// One registry per agent (not the global MetricsSystem), so several agents can live in one test process.
public final class AgentMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Request latency buckets: sub-millisecond health checks up to minute-long inferences.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
    ]

    public init() {}

    /// Counts one HTTP request and records its latency.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: .init(namespace: "podagent", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by route, method and status"),
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(namespace: "podagent", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
            labels: [("route", route), ("method", method)], buckets: Self.latencyBuckets
        ).record(duration)
    }

    /// Sets a gauge, creating it on first use.
    public func gauge(_ name: String, unit: String, help: String, labels: [(String, String)] = [], value: Double) {
        registry.makeGauge(descriptor: .init(namespace: "podagent", metricName: name, unitName: unit, helpText: help), labels: labels).set(value)
    }

    /// Adds to a counter, creating it on first use.
    public func count(_ name: String, help: String, labels: [(String, String)] = [], by amount: Int64 = 1) {
        registry.makeCounter(descriptor: .init(namespace: "podagent", metricName: name, unitName: "total", helpText: help), labels: labels)
            .increment(by: amount)
    }

    /// Adds a non-integer amount to a counter, creating it on first use.
    public func add(_ name: String, help: String, labels: [(String, String)] = [], by amount: Double) {
        registry.makeCounter(descriptor: .init(namespace: "podagent", metricName: name, unitName: "total", helpText: help), labels: labels)
            .increment(by: amount)
    }

    /// Records the GPU report's devices as gauges.
    func record(gpu report: GPUReport) {
        gauge("gpu_available", unit: "bool", help: "1 when a GPU could be read", value: report.available ? 1 : 0)
        for device in report.devices {
            let labels = [("gpu", String(device.index)), ("uuid", device.uuid)]
            if let used = device.memory_used_mib {
                gauge("gpu_memory_used", unit: "mebibytes", help: "GPU memory used", labels: labels, value: used)
            }
            if let total = device.memory_total_mib {
                gauge("gpu_memory_total", unit: "mebibytes", help: "GPU memory total", labels: labels, value: total)
            }
            if let utilization = device.utilization_percent {
                gauge("gpu_utilization", unit: "percent", help: "GPU utilization", labels: labels, value: utilization)
            }
            if let temperature = device.temperature_c {
                gauge("gpu_temperature", unit: "celsius", help: "GPU temperature", labels: labels, value: temperature)
            }
        }
    }
}
