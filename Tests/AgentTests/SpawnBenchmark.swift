import Foundation
import Testing

@testable import Agent

/// Not a test: the spawn benchmark (bench/spawn/run), run only with PODAGENT_BENCH=1, as root.
/// Starting a child as an unprivileged user with pa_spawn_as (fork, set up, take the identity, exec)
/// against what people use instead to drop root for a worker (util-linux's `setpriv` and `runuser`,
/// each started through the supervisor), against pa_spawn keeping root (fork, parent-death signal,
/// from the spawn thread: every other child), and against a plain posix_spawn that keeps root (what
/// podagent used before its children got a parent-death signal), in the same run.
/// Each sample is spawn + exec of /bin/true until it exits (its stdout pipe reaches EOF); the reaping
/// afterwards is not timed (the test supervisor polls for exits every 10 ms).
@Suite("Spawn benchmark (PODAGENT_BENCH=1 only)")
struct SpawnBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["PODAGENT_BENCH"] == "1"

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
    }

    static func measure(_ count: Int, _ spec: ProcessSpec) async throws -> [Double] {
        var samples: [Double] = []
        for _ in 0..<count {
            let started = ContinuousClock.now
            let child = try TestSupport.supervisor.spawn(spec)
            _ = child.stdout?.readToEnd()
            samples.append((ContinuousClock.now - started).inSeconds * 1e6)
            let status = await child.wait()
            #expect(status == .exited(0), "\(spec.executable) \(spec.arguments)")
        }
        return samples
    }

    /// posix_spawn of /bin/true with its stdout on a pipe, read to EOF, outside the supervisor.
    static func measurePosixSpawn(_ count: Int) throws -> [Double] {
        var samples: [Double] = []
        for _ in 0..<count {
            let started = ContinuousClock.now
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw AgentError(.system, "pipe") }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_addclose(&actions, fds[0])
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
            let rc = posix_spawn(&pid, "/bin/true", &actions, nil, argv, environ)
            posix_spawn_file_actions_destroy(&actions)
            free(argv[0])
            close(fds[1])
            guard rc == 0 else { throw AgentError(.system, "posix_spawn: \(rc)") }
            var buffer = [UInt8](repeating: 0, count: 64)
            while read(fds[0], &buffer, buffer.count) > 0 {}
            close(fds[0])
            samples.append((ContinuousClock.now - started).inSeconds * 1e6)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        return samples
    }

    @Test(.enabled(if: enabled, "set PODAGENT_BENCH=1 to run the spawn benchmark"))
    func dropToAnUnprivilegedUser() async throws {
        try #require(geteuid() == 0, "run as root: only root can switch users")
        let count = Int(ProcessInfo.processInfo.environment["PODAGENT_BENCH_SPAWNS"] ?? "") ?? 500
        let nobody = try #require(ProcessIdentity.lookup("nobody"))
        let groups = nobody.groups.map(String.init).joined(separator: ",")
        let variants: [(String, ProcessSpec)] = [
            ("pa_spawn, stays root (fork, parent-death signal)", ProcessSpec(executable: "/bin/true", stdout: .pipe, stderr: .null)),
            ("pa_spawn_as nobody (podagent's workers)", ProcessSpec(executable: "/bin/true", stdout: .pipe, stderr: .null, identity: nobody)),
            ("setpriv --reuid/--regid/--groups nobody", ProcessSpec(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=\(nobody.uid)", "--regid=\(nobody.gid)", "--groups=\(groups)", "/bin/true"], stdout: .pipe, stderr: .null)),
            ("runuser -u nobody", ProcessSpec(executable: "/usr/sbin/runuser", arguments: ["-u", "nobody", "--", "/bin/true"], stdout: .pipe, stderr: .null)),
        ]
        for (_, spec) in variants { _ = try await Self.measure(20, spec) }  // warm-up: page cache, dynamic loader
        var lines = ["| how (\(count) spawns of /bin/true, spawn, exec, run to exit) | median µs | p90 µs | p99 µs | median vs pa_spawn_as |", "|---|---|---|---|---|"]
        var medians: [String: Double] = [:]
        var results: [(String, [Double])] = []
        for (label, spec) in variants {
            let samples = try await Self.measure(count, spec)
            medians[label] = Self.percentile(samples, 0.5)
            results.append((label, samples))
        }
        _ = try Self.measurePosixSpawn(20)
        let plain = try Self.measurePosixSpawn(count)
        results.insert(("posix_spawn, stays root (no parent-death signal)", plain), at: 0)
        let reference = medians["pa_spawn_as nobody (podagent's workers)"] ?? 1
        for (label, samples) in results {
            let median = Self.percentile(samples, 0.5)
            lines.append(String(format: "| %@ | %.0f | %.0f | %.0f | %.2fx |", label, median, Self.percentile(samples, 0.9), Self.percentile(samples, 0.99), median / reference))
        }
        let text = lines.joined(separator: "\n") + "\n"
        print(text)
        if let out = ProcessInfo.processInfo.environment["PODAGENT_BENCH_OUT"] {
            try text.write(toFile: out, atomically: true, encoding: .utf8)
        }
    }
}
