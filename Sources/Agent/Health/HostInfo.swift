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

extension HostInfo {
    /// Reads the host now. Unreadable facts are left out rather than guessed.
    public static func read(diskPaths: [String]) -> HostInfo {
        let memory = meminfo()
        return HostInfo(
            cpu_count: ProcessInfo.processInfo.activeProcessorCount,
            load_average: loadAverage(),
            memory_total_bytes: memory["MemTotal"],
            memory_available_bytes: memory["MemAvailable"],
            disks: diskPaths.compactMap(disk))
    }

    static func loadAverage() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    /// `/proc/meminfo` values in bytes.
    static func meminfo() -> [String: UInt64] {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return [:] }
        var values: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kib = UInt64(parts[1]) else { continue }
            values[String(parts[0].dropLast())] = kib * 1024
        }
        return values
    }

    static func disk(_ path: String) -> Disk? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let block = UInt64(stats.f_frsize)
        return Disk(path: path, total_bytes: UInt64(stats.f_blocks) * block, free_bytes: UInt64(stats.f_bavail) * block)
    }
}
