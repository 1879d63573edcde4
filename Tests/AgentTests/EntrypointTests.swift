import Foundation
import Testing

@testable import Agent

/// podagent as the container's entrypoint: the image's command, exit codes, orphans, shutdown.
@Suite("podagent as entrypoint (PID 1 / subreaper)")
struct EntrypointTests {
    /// An agent without sshd (faster), to run `command`.
    static func config(_ workspace: TestWorkspace, shutdownTimeout: Double = 3) -> String {
        """
        state_dir: \(workspace.path)/state
        http:
          host: 127.0.0.1
          port: 0
        shutdown_timeout: \(shutdownTimeout)
        ssh:
          enabled: "off"

        """
    }

    /// Processes whose parent is `parent` and that are zombies.
    static func zombies(of parent: pid_t) -> [pid_t] {
        let procfs = ProcFS()
        return procfs.pids().filter { pid in
            guard let stat = procfs.stat(pid) else { return false }
            return stat.parent == parent && stat.state == "Z"
        }
    }

    static func alive(_ pid: pid_t) -> Bool { ProcFS().isAlive(pid) }

    @Test("run -- CMD: the command's exit code becomes podagent's")
    func exitCodePropagates() async throws {
        try await withWorkspace { workspace in
            let agent = try await PodAgentProcess.start(
                workspace, config: Self.config(workspace), sshPort: 0, arguments: ["--", "/bin/sh", "-c", "sleep 0.3; exit 7"], waitForHTTP: false)
            let status = await agent.child.wait()
            #expect(status == .exited(7), "\(agent.log)")
            #expect(agent.log.contains("podagent stops with its exit code 7"))
        }
    }

    @Test("run -- a command that cannot start: podagent exits with 127 and says why")
    func missingCommand() async throws {
        try await withWorkspace { workspace in
            let agent = try await PodAgentProcess.start(
                workspace, config: Self.config(workspace), sshPort: 0, arguments: ["--", "/nonexistent/serve"], waitForHTTP: false)
            let status = try #require(await agent.waitForExit(timeout: .seconds(20)), "podagent kept running:\n\(agent.log)")
            #expect(status == .exited(127))
            #expect(agent.log.contains("cannot start the command: /nonexistent/serve"), "\(agent.log)")
        }
    }

    @Test("run --keep-running -- CMD: podagent stays up after the command exits, then stops on SIGTERM with 0")
    func keepRunning() async throws {
        try await withWorkspace { workspace in
            let agent = try await PodAgentProcess.start(
                workspace, config: Self.config(workspace), sshPort: 0, arguments: ["--keep-running", "--", "/bin/sh", "-c", "exit 3"])
            try await agent.wait("the command's exit in /health") {
                let body = try agent.get("/health").body
                let report = try JSONDecoder().decode(HealthReport.self, from: Data(body.utf8))
                return report.parts["command"]?.state == "exited" && report.parts["command"]?.details["exit_code"] == "3"
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(agent.child.exitStatus == nil)
            #expect(try agent.get("/v2/health/live").status == 200)
            #expect(await agent.stop() == .exited(0))
        }
    }

    @Test("subreaper: orphaned grandchildren are reaped, no zombie remains")
    func orphansReapedAsSubreaper() async throws {
        try await withWorkspace { workspace in
            // Each ( sleep & ) leaves an orphan that is re-parented to podagent when its subshell exits.
            let script = "for i in 1 2 3 4 5 6 7 8; do ( sleep 0.2 & ); done; sleep 30"
            let agent = try await PodAgentProcess.start(workspace, config: Self.config(workspace), sshPort: 0, arguments: ["--", "/bin/sh", "-c", script])
            try await agent.wait("eight orphans reaped") {
                let metrics = try agent.get("/metrics").body
                let line = metrics.split(separator: "\n").first { $0.hasPrefix("podagent_orphans_reaped_count ") }
                return (line?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 8
            }
            #expect(Self.zombies(of: agent.child.pid).isEmpty)
            #expect(await agent.stop() == .exited(143))  // the command's SIGTERM, as tini reports it
        }
    }

    @Test("PID 1 (unshare --pid): orphans are reaped and SIGTERM stops everything")
    func orphansReapedAsPID1() async throws {
        let probe = try await Tools.run("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", "/bin/true"])
        try #require(probe.status.succeeded, "unshare --pid --fork --mount-proc does not work here: \(probe.stderr)")
        try await withWorkspace { workspace in
            let script = "for i in 1 2 3 4 5 6 7 8; do ( sleep 0.2 & ); done; sleep 30"
            let agent = try await PodAgentProcess.start(
                workspace, config: Self.config(workspace), sshPort: 0, arguments: ["--", "/bin/sh", "-c", script],
                wrapper: ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--kill-child"])
            #expect(agent.log.contains("pid1=true") || agent.log.contains("\"pid1\":\"true\""), "\(agent.log)")
            try await agent.wait("eight orphans reaped") {
                let metrics = try agent.get("/metrics").body
                let line = metrics.split(separator: "\n").first { $0.hasPrefix("podagent_orphans_reaped_count ") }
                return (line?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 8
            }
            // podagent is unshare's child; in the host's /proc its zombies would show under its host pid.
            let podagent = try #require(Descendants.of(agent.child.pid).first)
            #expect(Self.zombies(of: podagent).isEmpty)
            let tree = Descendants.of(agent.child.pid)
            // What `docker stop` does: SIGTERM to PID 1 alone.
            kill(podagent, SIGTERM)
            let status = try #require(await agent.waitForExit(timeout: .seconds(15)), "podagent did not stop:\n\(agent.log)")
            #expect(status == .exited(143), "\(agent.log)")  // the command's SIGTERM, passed on as its exit code
            #expect(agent.log.contains("podagent stopped"))
            for pid in tree { #expect(!Self.alive(pid), "pid \(pid) outlived podagent") }
        }
    }

    @Test("SIGHUP reaches the command; on SIGTERM the command stops before sshd")
    func signalsAndShutdownOrder() async throws {
        try await withWorkspace { workspace in
            let marks = workspace.path + "/marks"
            let script = "trap 'echo hup >> \(marks)' HUP; trap 'echo term >> \(marks); exit 0' TERM; while :; do sleep 0.05; done"
            let port = Tools.freePort()
            let agent = try await PodAgentProcess.start(
                workspace, config: workspace.config(sshPort: port), sshPort: port, arguments: ["--", "/bin/sh", "-c", script])
            try await agent.waitForSSHD()
            try await agent.wait("the command") { try agent.get("/health").body.contains("\"command\"") }
            agent.child.signal(SIGHUP)
            try await agent.wait("SIGHUP at the command") { (try? String(contentsOfFile: marks, encoding: .utf8))?.contains("hup") == true }
            // The reload re-executes sshd in place (SIGHUP); it keeps running with the same pid.
            try await agent.wait("sshd re-executed") {
                agent.log.contains("sshd configuration reloaded") && agent.log.components(separatedBy: "Server listening on 0.0.0.0").count == 3
            }
            #expect(try agent.sshdStatus()?.state == "running")

            let status = await agent.stop()
            #expect(status == .exited(0), "the command exited 0 on SIGTERM:\n\(agent.log)")
            #expect(try String(contentsOfFile: marks, encoding: .utf8) == "hup\nterm\n")
            let log = agent.log
            let commandDone = try #require(log.range(of: "the command exited with code 0"), "\(log)")
            let sshdDone = try #require(log.range(of: "Received signal 15; terminating"), "\(log)")
            #expect(commandDone.lowerBound < sshdDone.lowerBound, "sshd stopped before the command:\n\(log)")
        }
    }

    @Test("SIGTERM with children alive (one ignores SIGTERM, one left its group): all gone within the deadline")
    func sigtermStopsEverything() async throws {
        try await withWorkspace { workspace in
            let pids = workspace.path + "/pids"
            let script = "trap '' TERM; sleep 300 & echo $! > \(pids); setsid sleep 301 & echo $! >> \(pids); echo $$ >> \(pids); wait; wait"
            let agent = try await PodAgentProcess.start(
                workspace, config: Self.config(workspace, shutdownTimeout: 2), sshPort: 0, arguments: ["--", "/bin/sh", "-c", script])
            try await agent.wait("the command's children") {
                (try? String(contentsOfFile: pids, encoding: .utf8))?.split(separator: "\n").count == 3
            }
            let children = try String(contentsOfFile: pids, encoding: .utf8).split(separator: "\n").compactMap { pid_t($0) }
            for pid in children { #expect(Self.alive(pid)) }

            let sent = ContinuousClock.now
            agent.child.signal(SIGTERM)
            let status = await agent.child.terminate(grace: .seconds(30))
            let took = ContinuousClock.now - sent
            // shutdown_timeout is 2 s and the ignoring child would live 300 s: the bound proves the deadline
            // holds while leaving room for the whole suite loading 2 cores (it took over 6 s there).
            #expect(took < .seconds(20), "podagent took \(took) to stop")
            #expect(status == .exited(137), "the shell ignored SIGTERM and was killed: \(status)\n\(agent.log)")
            for pid in children { #expect(!Self.alive(pid), "pid \(pid) outlived podagent") }
        }
    }
}
