import Foundation
import Testing

@testable import Agent

/// No GPU exists on the test machines: these drive the nvidia-smi fallback with a scripted
/// `nvidia-smi` placed first on PATH, and check the no-GPU path for real.
@Suite("GPU probe (scripted nvidia-smi; no real GPU here)")
struct GPUProbeTests {
    static let twoGPUs = """
        #!/bin/sh
        case "$1" in
        --query-gpu=*)
          echo "0, NVIDIA H100 80GB HBM3, GPU-aaaa-0000, 81559, 1234, 80325, 17, 41"
          echo "1, NVIDIA H100 80GB HBM3, GPU-bbbb-1111, 81559, [N/A], [N/A], [N/A], [Not Supported]"
          ;;
        --query-compute-apps=*)
          echo "GPU-aaaa-0000, 4242, 1200, python"
          echo "GPU-aaaa-0000, 4343, [N/A], python3"
          ;;
        esac
        """

    static func scriptedPath(_ script: String) throws -> (dir: String, environment: [String: String]) {
        let dir = try TestSupport.temporaryDirectory("smi")
        try TestSupport.writeScript(dir + "/nvidia-smi", script)
        return (dir, ["PATH": "\(dir):/usr/bin:/bin"])
    }

    static var runner: CommandRunner { CommandRunner(supervisor: TestSupport.supervisor) }

    @Test func twoGPUsWithUnavailableFields() async throws {
        let (_, environment) = try Self.scriptedPath(Self.twoGPUs)
        let report = await NvidiaSMIProbe(runner: Self.runner, timeout: .seconds(10), environment: environment).read()
        #expect(report.available)
        #expect(report.source == "nvidia-smi")
        #expect(report.devices.count == 2)
        let first = try #require(report.devices.first)
        #expect(first.name == "NVIDIA H100 80GB HBM3")
        #expect(first.uuid == "GPU-aaaa-0000")
        #expect(first.memory_total_mib == 81559)
        #expect(first.memory_used_mib == 1234)
        #expect(first.utilization_percent == 17)
        #expect(first.temperature_c == 41)
        #expect(first.processes == [GPUProcess(pid: 4242, used_mib: 1200, name: "python"), GPUProcess(pid: 4343, used_mib: nil, name: "python3")])
        let second = report.devices[1]
        #expect(second.memory_total_mib == 81559)
        #expect(second.memory_used_mib == nil)
        #expect(second.utilization_percent == nil)
        #expect(second.temperature_c == nil)
        #expect(second.processes.isEmpty)
    }

    @Test func driverErrorIsReportedNotThrown() async throws {
        let (_, environment) = try Self.scriptedPath("""
            #!/bin/sh
            echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
            exit 9
            """)
        let report = await NvidiaSMIProbe(runner: Self.runner, timeout: .seconds(10), environment: environment).read()
        #expect(!report.available)
        #expect(report.reason?.contains("couldn't communicate with the NVIDIA driver") == true)
        #expect(report.reason?.contains("exited with code 9") == true)
    }

    @Test func hungNvidiaSMIIsAbandonedAndKilled() async throws {
        let (dir, environment) = try Self.scriptedPath("""
            #!/bin/sh
            sleep 300 &
            echo $! > "$(dirname "$0")/sleep.pid"
            wait
            """)
        let started = ContinuousClock.now
        let report = await NvidiaSMIProbe(runner: Self.runner, timeout: .milliseconds(500), environment: environment).read()
        let elapsed = ContinuousClock.now - started
        #expect(!report.available)
        #expect(report.reason?.contains("did not finish within") == true)
        // Bounded by the timeout, not by the 300 s hang.
        #expect(elapsed < .seconds(30))
        let pidText = try String(contentsOfFile: dir + "/sleep.pid", encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        // The whole process group was killed: the grandchild is gone too (allow it a moment to die).
        var alive = true
        for _ in 0..<50 where alive {
            alive = kill(pid, 0) == 0 && !Self.isZombie(pid)
            if alive { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(!alive, "the hung nvidia-smi's child \(pid) survived")
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }

    @Test func noDriverAtAllSaysWhy() async throws {
        let empty = try TestSupport.temporaryDirectory("nopath")
        let probe = SystemGPUProbe(
            runner: Self.runner, timeout: .seconds(5), nvmlLibrary: "libnvidia-ml-does-not-exist.so.1", environment: ["PATH": empty])
        let report = await probe.read()
        #expect(!report.available)
        #expect(report.devices.isEmpty)
        #expect(report.reason?.contains("libnvidia-ml-does-not-exist.so.1") == true)
        #expect(report.reason?.contains("nvidia-smi not found") == true)
    }

    @Test func systemProbeFallsBackToNvidiaSMI() async throws {
        let (_, environment) = try Self.scriptedPath(Self.twoGPUs)
        let probe = SystemGPUProbe(
            runner: Self.runner, timeout: .seconds(10), nvmlLibrary: "libnvidia-ml-does-not-exist.so.1", environment: environment)
        let report = await probe.read()
        #expect(report.available)
        #expect(report.source == "nvidia-smi")
        #expect(report.devices.map(\.uuid) == ["GPU-aaaa-0000", "GPU-bbbb-1111"])
    }

    @Test func agentServesScriptedGPUsInHealthAndMetrics() async throws {
        let (dir, _) = try Self.scriptedPath(Self.twoGPUs)
        let path = "\(dir):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"
        let agent = try await AgentProcess.start(environment: ["PATH": path])
        // The first reading runs beside the HTTP server's start: on a loaded machine /health may answer first.
        var health = try jsonObject(try await httpGet(agent.baseURL + "/health"))
        for _ in 0..<200 {
            guard ((health["gpu"] as? [String: Any])?["reason"] as? String) == "not read yet" else { break }
            try await Task.sleep(for: .milliseconds(50))
            health = try jsonObject(try await httpGet(agent.baseURL + "/health"))
        }
        let gpu = try #require(health["gpu"] as? [String: Any])
        #expect(gpu["available"] as? Bool == true)
        #expect((gpu["devices"] as? [[String: Any]])?.count == 2)
        let metrics = String(decoding: try await httpGet(agent.baseURL + "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"podagent_gpu_memory_used_mebibytes{gpu="0",uuid="GPU-aaaa-0000"} 1234"#))
        #expect(await agent.stop() == .exited(0))
    }
}
