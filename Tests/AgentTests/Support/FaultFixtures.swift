import Foundation
import Testing

@testable import Agent

/// A small tmpfs the test mounts (as root, as the tests run) to give podagent a disk that fills up.
final class TmpfsMount: Sendable {
    let path: String

    /// Mounts a tmpfs of `size` (mount's syntax: `2m`) on a fresh directory.
    init(size: String = "2m") async throws {
        path = try TestSupport.temporaryDirectory("tmpfs")
        let mounted = try await Tools.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
        try #require(mounted.status.succeeded, "mount tmpfs: \(mounted.stderr)")
    }

    /// Fills what is left with a file of zeros (dd stops at ENOSPC); returns the file.
    @discardableResult
    func fill(name: String = "filler") async throws -> String {
        let file = "\(path)/\(name)"
        _ = try await Tools.run("/bin/dd", ["if=/dev/zero", "of=\(file)", "bs=4k"], timeout: .seconds(60))
        var stats = statvfs()
        statvfs(path, &stats)
        #expect(stats.f_bavail == 0, "the tmpfs still has \(stats.f_bavail) free blocks")
        return file
    }

    /// Bytes free now.
    var free: UInt64 {
        var stats = statvfs()
        statvfs(path, &stats)
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
    }

    func unmount() async {
        _ = try? await Tools.run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a mounted tmpfs, unmounted afterwards whatever happened.
func withTmpfs<T>(size: String = "2m", _ body: (TmpfsMount) async throws -> T) async throws -> T {
    let mount = try await TmpfsMount(size: size)
    do {
        let result = try await body(mount)
        await mount.unmount()
        return result
    } catch {
        await mount.unmount()
        throw error
    }
}

/// A real `podagent run` serving the synthetic Demo model (sshd off), with a YAML config of the test's.
enum FaultAgent {
    /// Starts podagent on `stateDir` with `yaml` (appended to the test defaults).
    /// - Parameters:
    ///   - pluginsDir: the plugins directory (a Demo with other worker options, say); the repository's by default.
    ///   - stderrFile: where podagent's stderr goes instead of the test's pipe (a file on a full disk).
    ///   - wrapper: a command podagent runs under (prlimit).
    static func start(
        stateDir: String, yaml: String = "", pluginsDir: String = InferenceTestSupport.pluginsDir,
        environment: [String: String] = [:], stderrFile: String? = nil, wrapper: [String] = []
    ) async throws -> AgentProcess {
        // Not next to the state directory: that may be a full disk.
        let config = try TestSupport.temporaryDirectory("config") + "/podagent.yaml"
        try """
            inference:
              kill_grace: 1
              load_timeout: 60
            \(yaml)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return try await AgentProcess.start(
            arguments: ["--config", config, "--plugins-dir", pluginsDir],
            environment: ["PODAGENT_MODELS": "Demo"].merging(environment) { $1 }, stateDir: stateDir, stderrFile: stderrFile,
            wrapper: wrapper)
    }

    /// Waits until `GET path` answers `status`.
    static func waitFor(_ agent: AgentProcess, _ path: String, status: Int = 200, timeout: Duration = .seconds(60)) async throws {
        let port = agent.port
        let reached = await eventually(timeout: timeout) {
            (try? await onThread { try RawConnection.exchange(port: port, "GET", path, timeout: 5).status }) == status
        }
        #expect(reached, "GET \(path) never answered \(status); podagent log:\n\(agent.log.suffix(3000))")
        try #require(reached)
    }

    /// One request on a fresh connection, off the cooperative pool.
    static func send(
        _ agent: AgentProcess, _ method: String, _ path: String, json: Any? = nil, body: Data? = nil, timeout: Double = 60
    ) async throws -> RawConnection.Response {
        let port = agent.port
        let payload = try json.map(jsonData) ?? body
        return try await onThread {
            try RawConnection.exchange(
                port: port, method, path, body: payload, headers: payload == nil ? [:] : ["Content-Type": "application/json"], timeout: timeout)
        }
    }

    /// The Demo model's entry in the repository index.
    static func demoStatus(_ agent: AgentProcess) async throws -> [String: Any] {
        let response = try await send(agent, "GET", "/v2/repository/index", timeout: 10)
        let models = try #require(try JSONSerialization.jsonObject(with: response.body) as? [[String: Any]])
        return try #require(models.first { $0["name"] as? String == "Demo" })
    }

    /// Waits for the Demo model's worker (ready and idle) and returns its pid.
    static func readyWorker(_ agent: AgentProcess) async throws -> Int32 {
        var pid: Int32?
        let found = await eventually {
            let status = try? await demoStatus(agent)
            let idle = (status?["instances"] as? [[String: Any]])?.contains { $0["state"] as? String == "idle" } == true
            pid = idle ? try? await workerPID(agent) : nil
            return status?["state"] as? String == "READY" && pid != nil
        }
        #expect(found, "the Demo worker never became ready and idle; podagent log:\n\(agent.log.suffix(2000))")
        return try #require(pid)
    }

    /// The pid of the Demo model's first instance that is not stopping.
    static func workerPID(_ agent: AgentProcess) async throws -> Int32? {
        let instances = try await demoStatus(agent)["instances"] as? [[String: Any]] ?? []
        return instances.first { $0["state"] as? String != "stopping" }?["pid"].flatMap { ($0 as? Int).map(Int32.init) }
    }
}

/// Whether a process exists and is not a zombie.
func isAlive(_ pid: Int32) -> Bool { ProcFS().isAlive(pid) }
