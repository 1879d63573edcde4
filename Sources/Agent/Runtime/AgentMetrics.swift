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
import Synchronization

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

    /// The counters and histograms met so far, by name and labels. The registry's own lookup checks
    /// and rewrites the name, the labels and the help text and joins the full name on every call:
    /// ~1 % of podagent's CPU on a small inference request, which counts two series and records one.
    private let counters = Mutex<[SeriesKey: Counter]>([:])
    private let histograms = Mutex<[SeriesKey: DurationHistogram]>([:])
    /// Past this many series the cache stops growing (a label a client chooses, such as an unknown
    /// model's name, must not grow memory twice); the registry then answers as before.
    static let cachedSeriesLimit = 1024

    public init() {}

    /// Counts one HTTP request and records its latency.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        counter("http_requests", help: "HTTP requests by route, method and status",
                labels: [("route", route), ("method", method), ("status", String(status))]).increment()
        let key = SeriesKey(name: "http_request_duration", labels: [("route", route), ("method", method)])
        let histogram = Self.cached(key, in: histograms) {
            registry.makeDurationHistogram(
                descriptor: .init(namespace: "podagent", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
                labels: key.labels, buckets: Self.latencyBuckets)
        }
        histogram.record(duration)
    }

    /// Sets a gauge, creating it on first use.
    public func gauge(_ name: String, unit: String, help: String, labels: [(String, String)] = [], value: Double) {
        registry.makeGauge(descriptor: .init(namespace: "podagent", metricName: name, unitName: unit, helpText: help), labels: labels).set(value)
    }

    /// Adds to a counter, creating it on first use.
    public func count(_ name: String, help: String, labels: [(String, String)] = [], by amount: Int64 = 1) {
        counter(name, help: help, labels: labels).increment(by: amount)
    }

    /// Adds a non-integer amount to a counter, creating it on first use.
    public func add(_ name: String, help: String, labels: [(String, String)] = [], by amount: Double) {
        counter(name, help: help, labels: labels).increment(by: amount)
    }

    /// The counter `podagent_<name>_total` with `labels`, from the cache or the registry.
    private func counter(_ name: String, help: String, labels: [(String, String)]) -> Counter {
        Self.cached(SeriesKey(name: name, labels: labels), in: counters) {
            registry.makeCounter(descriptor: .init(namespace: "podagent", metricName: name, unitName: "total", helpText: help), labels: labels)
        }
    }

    /// The series under `key` in `cache`, else `make()`'s (kept while the cache is under its limit).
    /// Two requests may both miss and both ask the registry: it returns the same series to both.
    private static func cached<Series: Sendable>(
        _ key: SeriesKey, in cache: borrowing Mutex<[SeriesKey: Series]>, make: () -> Series
    ) -> Series {
        if let found = cache.withLock({ $0[key] }) { return found }
        let made = make()
        cache.withLock { cache in
            if cache.count < cachedSeriesLimit { cache[key] = made }
        }
        return made
    }

    /// A series' name (without namespace and unit) and labels, in the order given.
    struct SeriesKey: Hashable, Sendable {
        let name: String
        let labels: [(String, String)]

        static func == (left: SeriesKey, right: SeriesKey) -> Bool {
            left.name == right.name && left.labels.count == right.labels.count
                && zip(left.labels, right.labels).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(name)
            for (label, value) in labels {
                hasher.combine(label)
                hasher.combine(value)
            }
        }
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
