import Foundation
import Testing

@testable import Agent

/// The built `podagent` binary's gpu and diagnose commands. No GPU here: NVML does not load, so
/// podagent falls back to a scripted `nvidia-smi` first on PATH that lists REAL processes (from a pid
/// file) as GPU holders while they are alive.
@Suite("podagent gpu / gpu cleanup / diagnose commands (scripted nvidia-smi, real processes)")
struct GPUCommandTests {
    static func scriptedSMI(pidFile: String) throws -> [String: String] {
        let dir = try TestSupport.temporaryDirectory("smi-procs")
        try TestSupport.writeScript(dir + "/nvidia-smi", """
            #!/bin/sh
            case "$1" in
            --query-gpu=*) echo "0, Fake GPU (scripted nvidia-smi), GPU-fake-0, 81559, 1234, 80325, 0, 30" ;;
            --query-compute-apps=*)
              for pid in $(cat '\(pidFile)'); do
                if [ -e /proc/$pid ] && ! grep -q ') Z' /proc/$pid/stat; then echo "GPU-fake-0, $pid, 500, python3"; fi
              done ;;
            esac
            """)
        return TestSupport.environment(["PATH": "\(dir):/usr/bin:/bin"])
    }

    static func podagent(_ arguments: [String], environment: [String: String]) async throws -> CommandRunner.Output {
        try await Tools.run(TestSupport.podagentBinary, arguments, timeout: .seconds(60), environment: environment)
    }

    @Test func scriptedGPUListCleanupKillsOnlyTheOrphan() async throws {
        let dead = try await GPUHolders.deadPid()
        let orphan = try await GPUHolders.sleeper(environment: ["PODAGENT_WORKER": "petr/0", "PODAGENT_AGENT_PID": String(dead)])
        let unrelated = try await GPUHolders.sleeper()
        defer { GPUHolders.end([orphan.pid, unrelated.pid]) }
        let pidFile = try TestSupport.temporaryDirectory("pids") + "/pids"
        try "\(orphan.pid) \(unrelated.pid)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        let environment = try Self.scriptedSMI(pidFile: pidFile)

        let list = try await Self.podagent(["gpu", "--json"], environment: environment)
        #expect(list.status == .exited(0), "\(list.stderr)")
        let listing = try JSONDecoder().decode(GPUListing.self, from: Data(list.stdout.utf8))
        #expect(listing.source == "nvidia-smi")
        let owners = Dictionary(uniqueKeysWithValues: listing.processes.map { ($0.pid, $0.owner) })
        #expect(owners == [orphan.pid: .orphanedWorker, unrelated.pid: .other])

        let dry = try await Self.podagent(["gpu", "cleanup", "--dry-run"], environment: environment)
        #expect(dry.status == .exited(0))
        #expect(dry.stdout.contains("would kill pid \(orphan.pid) (petr/0"))
        #expect(GPUHolders.isAlive(orphan.pid))

        let cleanup = try await Self.podagent(["gpu", "cleanup"], environment: environment)
        #expect(cleanup.status == .exited(0), "\(cleanup.stdout) \(cleanup.stderr)")
        #expect(cleanup.stdout.contains("killed pid \(orphan.pid)"))
        #expect(cleanup.stdout.contains("freed 500 MiB"))
        #expect(await orphan.wait() == .signaled(SIGKILL))
        #expect(GPUHolders.isAlive(unrelated.pid), "an unrelated process holding GPU memory was killed")
    }

    @Test func noGPUAtAllExitsOneAndSaysWhy() async throws {
        let empty = try TestSupport.temporaryDirectory("nogpu")
        let result = try await Self.podagent(["gpu"], environment: TestSupport.environment(["PATH": empty]))
        #expect(result.status == .exited(1))
        #expect(result.stdout.contains("no GPU:"))
        #expect(result.stdout.contains("nvidia-smi not found"))
    }

    @Test func diagnoseCommandWritesTheBundleWithoutTheToken() async throws {
        let dir = try TestSupport.temporaryDirectory("diagnose-cli")
        let token = "cli-token-Pp0oIi9uUy8"
        let output = dir + "/out.tar.gz"
        let result = try await Self.podagent(
            ["diagnose", "--state-dir", dir + "/state", "--out", output],
            environment: TestSupport.environment(["PODAGENT_TOKEN": token]))
        #expect(result.status == .exited(0), "\(result.stderr)")
        #expect(result.stdout.contains("wrote \(output)"))
        let count = try await Tools.run("/bin/sh", ["-c", "gzip -dc '\(output)' | grep -c '\(token)'"])
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let listing = try await Tools.run("/bin/tar", ["-tzf", output])
        #expect(listing.stdout.contains("out/versions.txt"))
        #expect(listing.stdout.contains("out/gpu.json"))
    }

    @Test func runWritesItsLogFileInTheStateDirectory() async throws {
        let state = try TestSupport.temporaryDirectory("logstate")
        let agent = try await AgentProcess.start(stateDir: state)
        #expect(await agent.stop() == .exited(0))
        let text = try String(contentsOfFile: state + "/podagent.log", encoding: .utf8)
        #expect(text.contains(#""message":"podagent \#(PodAgentVersion.current) starting""#))
        let mode = try FileManager.default.attributesOfItem(atPath: state + "/podagent.log")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let quiet = try TestSupport.temporaryDirectory("logoff")
        let off = try await AgentProcess.start(environment: ["PODAGENT_LOG_FILE": "off"], stateDir: quiet)
        #expect(await off.stop() == .exited(0))
        #expect(!FileManager.default.fileExists(atPath: quiet + "/podagent.log"))
    }
}
