import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import Agent

/// No GPU exists on the test machines: this fake "driver" lists REAL processes as GPU holders with
/// the memory a test gives them, for as long as they are alive (as a driver stops listing a process
/// once it has exited). Pids marked stuck stay listed after they die, like memory a driver never releases.
final class FakeGPUDriverOverRealProcesses: GPUProbe {
    private let holders = Mutex<[Int32: Double]>([:])
    private let stuck = Mutex<Set<Int32>>([])
    private let available: Bool

    init(available: Bool = true) { self.available = available }

    func hold(_ pid: Int32, mib: Double, stuck isStuck: Bool = false) {
        holders.withLock { $0[pid] = mib }
        if isStuck { _ = stuck.withLock { $0.insert(pid) } }
    }

    func read() async -> GPUReport {
        guard available else { return .unavailable("no GPU in this test (fake driver switched off)") }
        let stuck = self.stuck.withLock { $0 }
        let listed = holders.withLock { $0 }.filter { pid, _ in stuck.contains(pid) || ProcFS().isAlive(pid) }
        let processes = listed.keys.sorted().map { GPUProcess(pid: $0, used_mib: listed[$0], name: "fake-cuda") }
        let used = processes.reduce(0) { $0 + ($1.used_mib ?? 0) }
        return GPUReport(available: true, source: "fake", reason: nil, devices: [
            GPUDevice(index: 0, name: "Fake GPU (test)", uuid: "GPU-fake-0", memory_total_mib: 81920, memory_used_mib: used,
                      memory_free_mib: 81920 - used, utilization_percent: 0, temperature_c: 30, processes: processes),
        ])
    }
}

/// Real child processes standing in for what a model worker leaves behind.
enum GPUHolders {
    /// `sleep 300` in a process group of its own.
    static func sleeper(environment: [String: String] = [:]) async throws -> Child {
        let child = try TestSupport.supervisor.spawn(ProcessSpec(
            executable: "/bin/sleep", arguments: ["300"], environment: TestSupport.environment(environment), stdout: .null, stderr: .null))
        try await waitForExec(child.pid)
        return child
    }

    /// Waits until `pid` runs `sleep`: until its exec, /proc shows the parent's name and environment.
    static func waitForExec(_ pid: Int32) async throws {
        for _ in 0..<500 {
            if ProcFS().name(pid) == "sleep" { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("pid \(pid) did not exec sleep within 5 s")
    }

    /// A shell leading its own group with a `sleep` in the same group; returns the shell and the sleep's pid.
    /// With `leaderExits` the shell exits after starting the sleep (a worker ended, its child left behind).
    static func group(environment: [String: String] = [:], leaderExits: Bool = false) async throws -> (leader: Child, member: Int32) {
        let script = leaderExits ? "sleep 300 </dev/null >/dev/null 2>&1 & echo $!" : "sleep 300 </dev/null >/dev/null 2>&1 & echo $!; wait"
        let leader = try TestSupport.supervisor.spawn(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", script], environment: TestSupport.environment(environment), stdout: .pipe, stderr: .null))
        let line = try await firstLine(leader.stdout)
        let member = try #require(Int32(line), "the shell printed '\(line)' instead of a pid")
        try await waitForExec(member)
        return (leader, member)
    }

    static func firstLine(_ handle: DescriptorHandle?) async throws -> String {
        let stream = AsyncStream<String>.makeStream()
        if let handle {
            PipeReader.forEachLine(handle, line: { stream.continuation.yield($0) }, done: { stream.continuation.finish() })
        } else {
            stream.continuation.finish()
        }
        for await line in stream.stream { return line.trimmingCharacters(in: .whitespaces) }
        return ""
    }

    /// A pid that no process has now (a child that already exited and was reaped).
    static func deadPid() async throws -> Int32 {
        let child = try TestSupport.supervisor.spawn(ProcessSpec(executable: "/bin/true", stdout: .null, stderr: .null))
        _ = await child.wait()
        return child.pid
    }

    static func isAlive(_ pid: Int32) -> Bool { ProcFS().isAlive(pid) }

    static func end(_ pids: [Int32]) {
        for pid in pids { kill(pid, SIGKILL) }
    }
}

@Suite("GPU reclaim after a worker is ended (fake GPU driver, real processes)")
struct GPUReclaimerTests {
    static func agent(probe: any GPUProbe) throws -> TestAgent {
        var config = AgentConfig()
        config.http.host = "127.0.0.1"
        config.http.port = 0
        return TestAgent(
            config: config, stateDir: try TestSupport.temporaryDirectory("reclaim"), logger: Logger(label: "test"), gpuProbe: probe)
    }

    @Test func fakeGPUKillsOnlyTheGroupsHoldersAndRecordsWhatWasFreed() async throws {
        let driver = FakeGPUDriverOverRealProcesses()
        let (leader, member) = try await GPUHolders.group()
        let unrelated = try await GPUHolders.sleeper()
        defer { GPUHolders.end([leader.pid, member, unrelated.pid]) }
        driver.hold(leader.pid, mib: 500)
        driver.hold(member, mib: 700)
        driver.hold(unrelated.pid, mib: 300)
        let agent = try Self.agent(probe: driver)

        let record = await agent.gpuReclaimer.reclaim(model: "demo", processGroup: leader.pid, timeout: .seconds(20))

        #expect(Set(record.killed) == [leader.pid, member])
        #expect(record.freed_mib == 1200)
        #expect(record.complete)
        #expect(record.remaining.isEmpty)
        #expect(record.model == "demo" && record.process_group == leader.pid)
        #expect(await leader.wait() == .signaled(SIGKILL))
        #expect(!GPUHolders.isAlive(member))
        #expect(GPUHolders.isAlive(unrelated.pid), "a process outside the group was killed")
        let listed = await driver.read().devices.flatMap(\.processes).map(\.pid)
        #expect(listed == [unrelated.pid])

        // /health and /metrics show it.
        let app = Application(router: agent.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                let report = try JSONDecoder().decode(HealthReport.self, from: Data(response.body.readableBytesView))
                let cleanup = try #require(report.gpu_cleanup)
                #expect(cleanup.reclaims == 1)
                #expect(cleanup.incomplete == 0)
                #expect(cleanup.freed_mib_total == 1200)
                #expect(cleanup.killed_total == 2)
                #expect(cleanup.recent.last?.process_group == leader.pid)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"podagent_gpu_reclaims_total{model="demo"} 1"#))
                #expect(text.contains(#"podagent_gpu_reclaim_freed_mebibytes_total{model="demo"} 1200"#))
                #expect(text.contains(#"podagent_gpu_reclaim_killed_processes_total{model="demo"} 2"#))
                #expect(!text.contains("podagent_gpu_reclaims_incomplete_total{"))
            }
        }
    }

    @Test func fakeGPUMemoryNeverReleasedIsRecordedIncompleteAfterTheDeadline() async throws {
        let driver = FakeGPUDriverOverRealProcesses()
        let holder = try await GPUHolders.sleeper()
        defer { GPUHolders.end([holder.pid]) }
        driver.hold(holder.pid, mib: 2048, stuck: true)
        let agent = try Self.agent(probe: driver)

        let record = await agent.gpuReclaimer.reclaim(model: "vad", processGroup: holder.pid, timeout: .milliseconds(600))

        #expect(record.killed == [holder.pid])
        #expect(await holder.wait() == .signaled(SIGKILL))
        #expect(!record.complete)
        #expect(record.remaining == [holder.pid])
        #expect(record.remaining_mib == 2048)
        #expect(record.freed_mib == 0)
        #expect(agent.gpuReclaimer.status.incomplete == 1)
        let metrics = agent.metrics.registry.emitToString()
        #expect(metrics.contains(#"podagent_gpu_reclaims_incomplete_total{model="vad"} 1"#))
    }

    @Test func groupAlreadyGoneNeedsNoKill() async throws {
        let driver = FakeGPUDriverOverRealProcesses()
        let unrelated = try await GPUHolders.sleeper()
        defer { GPUHolders.end([unrelated.pid]) }
        driver.hold(unrelated.pid, mib: 100)
        let gone = try await GPUHolders.deadPid()
        let reclaimer = GPUReclaimer(probe: driver, metrics: nil, logger: Logger(label: "test"))
        let record = await reclaimer.reclaim(model: "petr", processGroup: gone, timeout: .seconds(5))
        #expect(record.killed.isEmpty)
        #expect(record.holders.isEmpty)
        #expect(record.complete)
        #expect(GPUHolders.isAlive(unrelated.pid))
    }

    @Test func noGPUReadableKillsNothingAndSaysWhy() async throws {
        let holder = try await GPUHolders.sleeper()
        defer { GPUHolders.end([holder.pid]) }
        let reclaimer = GPUReclaimer(probe: FakeGPUDriverOverRealProcesses(available: false), metrics: nil, logger: Logger(label: "test"))
        let record = await reclaimer.reclaim(model: "demo", processGroup: holder.pid, timeout: .seconds(5))
        #expect(record.killed.isEmpty)
        #expect(record.note?.contains("no GPU readable") == true)
        #expect(GPUHolders.isAlive(holder.pid))
        #expect(reclaimer.status.recent.count == 1)
    }

    @Test func recentRecordsAreBounded() async throws {
        let reclaimer = GPUReclaimer(probe: FakeGPUDriverOverRealProcesses(), metrics: nil, logger: Logger(label: "test"), keep: 3)
        for group in 100_000..<100_005 {
            await reclaimer.reclaim(model: "m\(group)", processGroup: Int32(group), timeout: .milliseconds(100))
        }
        let status = reclaimer.status
        #expect(status.reclaims == 5)
        #expect(status.recent.map(\.model) == ["m100002", "m100003", "m100004"])
    }
}
