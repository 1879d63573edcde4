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

extension PodAgent {
    /// Assembles the report from the latest readings; nothing here waits on a driver or a child.
    public func healthReport() -> HealthReport {
        let (ready, reasons) = readiness.evaluate()
        return HealthReport(
            agent: .init(name: "podagent", version: PodAgentVersion.current, pid: getpid(), uptime_s: uptime, state_dir: stateDir),
            ready: ready, reasons: reasons,
            host: HostInfo.read(diskPaths: ["/", stateDir]),
            gpu: gpu.latest,
            gpu_cleanup: gpuReclaimer.status,
            parts: readiness.snapshot,
            log_file: logFile?.status)
    }
}
