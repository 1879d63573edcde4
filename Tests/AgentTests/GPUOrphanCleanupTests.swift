import Foundation
import Testing

@testable import Agent

@Suite("podagent gpu cleanup: orphaned workers only (fake GPU driver, real processes)")
struct GPUOrphanCleanupTests {
    /// The scene: an orphan (its agent is gone), a leftover of an ended worker (its group leader exited),
    /// a live agent's worker (the test process plays the agent), and an unrelated process.
    struct Scene {
        let driver = FakeGPUDriverOverRealProcesses()
        var orphan: Child
        var leftover: Int32
        var liveWorker: Child
        var unrelated: Child

        static func make() async throws -> Scene {
            let deadAgent = try await GPUHolders.deadPid()
            let me = String(getpid())
            let orphan = try await GPUHolders.sleeper(environment: ["PODAGENT_WORKER": "demo/0", "PODAGENT_AGENT_PID": String(deadAgent)])
            let (_, leftover) = try await GPUHolders.group(environment: ["PODAGENT_WORKER": "demo/2", "PODAGENT_AGENT_PID": me], leaderExits: true)
            let liveWorker = try await GPUHolders.sleeper(environment: ["PODAGENT_WORKER": "demo/1", "PODAGENT_AGENT_PID": me])
            // Names a dead agent but is no worker: never touched.
            let unrelated = try await GPUHolders.sleeper(environment: ["PODAGENT_AGENT_PID": String(deadAgent)])
            let scene = Scene(orphan: orphan, leftover: leftover, liveWorker: liveWorker, unrelated: unrelated)
            scene.driver.hold(orphan.pid, mib: 400)
            scene.driver.hold(leftover, mib: 600)
            scene.driver.hold(liveWorker.pid, mib: 1000)
            scene.driver.hold(unrelated.pid, mib: 3000)
            // The leftover's leader must have exited before the cleanup looks.
            for _ in 0..<200 {
                guard let group = ProcFS().stat(leftover)?.processGroup, ProcFS().isAlive(group) else { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            return scene
        }

        func end() { GPUHolders.end([orphan.pid, leftover, liveWorker.pid, unrelated.pid]) }
    }

    @Test func fakeGPUListingClassifiesWorkersOrphansAndOthers() async throws {
        let scene = try await Scene.make()
        defer { scene.end() }
        let entries = GPUListing(report: await scene.driver.read()).processes
        let byPid = Dictionary(uniqueKeysWithValues: entries.map { ($0.pid, $0) })
        #expect(byPid[scene.orphan.pid]?.owner == .orphanedWorker)
        #expect(byPid[scene.orphan.pid]?.orphan_reason?.contains("is not running") == true)
        #expect(byPid[scene.orphan.pid]?.worker == "demo/0")
        #expect(byPid[scene.leftover]?.owner == .orphanedWorker)
        #expect(byPid[scene.liveWorker.pid]?.owner == .worker)
        #expect(byPid[scene.liveWorker.pid]?.agent_pid == getpid())
        #expect(byPid[scene.liveWorker.pid]?.process_group == scene.liveWorker.pid)
        #expect(byPid[scene.unrelated.pid]?.owner == .other)
        #expect(byPid[scene.unrelated.pid]?.used_mib == 3000)
    }

    @Test func fakeGPUDryRunKillsNothing() async throws {
        let scene = try await Scene.make()
        defer { scene.end() }
        let result = await GPUOrphanCleanup(probe: scene.driver, poll: .milliseconds(50)).run(dryRun: true, timeout: .seconds(5))
        #expect(Set(result.orphans.map(\.pid)) == [scene.orphan.pid, scene.leftover])
        #expect(result.killed.isEmpty)
        for pid in [scene.orphan.pid, scene.leftover, scene.liveWorker.pid, scene.unrelated.pid] {
            #expect(GPUHolders.isAlive(pid), "dry run killed \(pid)")
        }
        #expect(GPUOrphanCleanup.render(result).contains("would kill pid \(scene.orphan.pid)"))
    }

    @Test func fakeGPUCleanupFreesOrphansAndNeverTouchesUnrelatedProcesses() async throws {
        let scene = try await Scene.make()
        defer { scene.end() }
        let result = await GPUOrphanCleanup(probe: scene.driver, poll: .milliseconds(50)).run(dryRun: false, timeout: .seconds(20))
        #expect(Set(result.killed) == [scene.orphan.pid, scene.leftover])
        #expect(result.freed_mib == 1000)
        #expect(result.complete)
        #expect(await scene.orphan.wait() == .signaled(SIGKILL))
        #expect(!GPUHolders.isAlive(scene.leftover))
        #expect(GPUHolders.isAlive(scene.liveWorker.pid), "a live agent's worker was killed")
        #expect(GPUHolders.isAlive(scene.unrelated.pid), "an unrelated process holding GPU memory was killed")
        #expect(Set(result.untouched.map(\.pid)) == [scene.liveWorker.pid, scene.unrelated.pid])
        let listed = Set(await scene.driver.read().devices.flatMap(\.processes).map(\.pid))
        #expect(listed == [scene.liveWorker.pid, scene.unrelated.pid])
    }

    @Test func pidsNotVisibleHereAreNeverSignalled() async throws {
        // A pid the driver lists that has no /proc entry here (another PID namespace): left alone.
        let gone = try await GPUHolders.deadPid()
        let report = GPUReport(available: true, source: "fake", reason: nil, devices: [
            GPUDevice(index: 0, name: "Fake GPU (test)", uuid: "GPU-fake-0", memory_total_mib: 1, memory_used_mib: 1, memory_free_mib: 0,
                      utilization_percent: nil, temperature_c: nil, processes: [GPUProcess(pid: gone, used_mib: 5)]),
        ])
        let result = await GPUOrphanCleanup(probe: FakeGPUProbe(report: report)).run(dryRun: false, timeout: .milliseconds(200))
        #expect(result.orphans.isEmpty)
        #expect(result.killed.isEmpty)
        #expect(result.untouched.first?.owner == .notVisible)
    }
}
