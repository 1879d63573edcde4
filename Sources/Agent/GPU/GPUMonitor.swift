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
import Logging
import ServiceLifecycle
import Synchronization

/// Reads the GPUs on an interval and keeps the latest report, so /health and /metrics never wait on a driver.
public final class GPUMonitor: Service, Sendable {
    private let probe: any GPUProbe
    private let interval: Duration
    private let latestReport = Mutex<GPUReport>(.unavailable("not read yet"))

    public init(probe: any GPUProbe, interval: Duration) {
        self.probe = probe
        self.interval = interval
    }

    /// The latest reading.
    public var latest: GPUReport { latestReport.withLock { $0 } }

    /// Reads once now and keeps the result.
    @discardableResult
    public func refresh() async -> GPUReport {
        let report = await probe.read()
        latestReport.withLock { $0 = report }
        return report
    }

    public func run() async throws {
        let interval = self.interval
        // Ending on cancellation is this service's normal stop, not a failure of the group.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.refresh()
                try? await Task.sleep(for: interval)
            }
        }
    }
}
