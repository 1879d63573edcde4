import Foundation
import Testing

@testable import Agent

/// Issue #13, items 8 and 11 (PUBLIC_KEY): podagent killed with SIGKILL (not PID 1) takes its children
/// with it, a stale sshd on our port is taken over, and authorized keys are read as sshd reads them.
/// Real podagent, real sshd, real Demo workers, the real ssh client.
@Suite("Faults: SIGKILL of podagent, a stale sshd, quoted key options (real sshd)", .serialized)
struct FaultSSHTests {
    static func config(_ workspace: TestWorkspace, port: Int) -> String {
        workspace.config(sshPort: port, extra: """
            models: [Demo]
            plugins_dir: \(InferenceTestSupport.pluginsDir)
            inference:
              kill_grace: 1
              python: \(TestSupport.workerPython)

            """)
    }

    /// Kills what a failed run left behind, so no process outlives the test.
    static func reap(_ pids: [Int32]) {
        for pid in pids where isAlive(pid) { kill(pid, SIGKILL) }
    }

    @Test("SIGKILL of podagent ends sshd, the workers and the command (parent-death signal); the next start gets the port")
    func sigkillTakesTheChildrenAlong() async throws {
        try await withWorkspace { workspace in
            let port = Tools.freePort()
            let config = Self.config(workspace, port: port)
            let agent = try await PodAgentProcess.start(
                workspace, config: config, sshPort: port, environment: ["PUBLIC_KEY": try workspace.publicKey],
                arguments: ["--", "/bin/sleep", "1000"])
            var children: [Int32] = []
            defer { Self.reap(children) }
            let sshd = try await agent.waitForSSHD()
            try await agent.wait("the Demo worker") { try agent.get("/v2/health/ready").status == 200 }
            let report = try JSONDecoder().decode(HealthReport.self, from: Data(try agent.get("/health").body.utf8))
            let sshdPID = try #require(sshd.details["pid"].flatMap { Int32($0) })
            let commandPID = try #require(report.parts["command"]?.details["pid"].flatMap { Int32($0) })
            let workerPID = try #require(report.models?.first { $0.name == "Demo" }?.instances.first?.pid)
            children = [sshdPID, commandPID, workerPID]
            #expect(children.allSatisfy(isAlive))

            agent.child.signal(SIGKILL)
            _ = await agent.waitForExit(timeout: .seconds(10))
            let gone = await eventually(timeout: .seconds(10)) { children.allSatisfy { !isAlive($0) } }
            #expect(gone, "still running after podagent was killed: \(children.filter(isAlive)) (sshd \(sshdPID), command \(commandPID), worker \(workerPID))")

            // The port is free again: the next podagent's sshd serves on it.
            try await PodAgentProcess.with(workspace, config: config, sshPort: port, environment: ["PUBLIC_KEY": try workspace.publicKey]) { again in
                let status = try await again.waitForSSHD()
                #expect(status.details["pid"] != String(sshdPID))
                #expect(try await again.ssh("echo back").stdout == "back\n")
            }
        }
    }

    @Test("a stale sshd holding our port and our pid file is taken over at start")
    func staleSSHDIsTakenOver() async throws {
        try await withWorkspace { workspace in
            let port = Tools.freePort()
            let config = workspace.config(sshPort: port)
            // A first run writes the state: host keys, sshd_config (with our pid file).
            try await PodAgentProcess.with(workspace, config: config, sshPort: port) { try await $0.waitForSSHD() }
            // Then an sshd runs on our config without a podagent, as an older podagent would have left it.
            let configFile = workspace.path + "/state/ssh/sshd_config"
            let stale = try Tools.supervisor.spawn(ProcessSpec(
                executable: "/usr/sbin/sshd", arguments: ["-D", "-e", "-f", configFile], stdin: .null, stdout: .null, stderr: .null))
            defer { Self.reap([stale.pid]) }
            #expect(await eventually(timeout: .seconds(10)) { PortProbe.connectLoopback(port: port) != nil })
            let pidFile = workspace.path + "/state/ssh/sshd.pid"
            #expect(await eventually(timeout: .seconds(10)) {
                (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == String(stale.pid)
            })

            try await PodAgentProcess.with(workspace, config: config, sshPort: port, environment: ["PUBLIC_KEY": try workspace.publicKey]) { agent in
                let status = try await agent.waitForSSHD()
                #expect(status.details["pid"] != String(stale.pid))
                #expect(stale.exitStatus != nil || !isAlive(stale.pid), "the stale sshd still runs")
                #expect(agent.log.contains("an sshd left by an earlier podagent"))
                #expect(try await agent.ssh("echo mine").stdout == "mine\n")
            }
        }
    }

    @Test("a PUBLIC_KEY line whose quoted option holds spaces and key-like text is checked as the key sshd uses")
    func quotedOptionsAreReadAsSSHDReadsThem() async throws {
        try await withWorkspace { workspace in
            let port = Tools.freePort()
            let key = try workspace.publicKey
            // The forced command holds text that looks like a (broken) key; the key sshd uses comes after it.
            let line = #"command="echo forced ssh-ed25519 AAAA!!notbase64 \"quoted\"",no-pty "# + key
            try await PodAgentProcess.with(
                workspace, config: workspace.config(sshPort: port), sshPort: port, environment: ["PUBLIC_KEY": line]
            ) { agent in
                let status = try await agent.waitForSSHD()
                #expect(status.details["authorized_keys"] == "1", "\(status.details)")
                #expect(status.details["key_problems"] == nil, "\(status.details["key_problems"] ?? "")")
                let login = try await agent.ssh("echo not-this")
                // sshd ran the forced command (its \" unescaped, then the shell's quotes removed).
                #expect(login.stdout == "forced ssh-ed25519 AAAA!!notbase64 quoted\n", "\(login.stdout) \(login.stderr)")
            }
            // The parser agrees with sshd on the pieces too.
            let blob = String(key.split(separator: " ")[1])
            let parsed = AuthorizedKeys.parse(#"from="10.0.0.1",command="a ssh-rsa AAAAB3 b" ssh-ed25519 "# + blob + " me")
            #expect((try? parsed.get())?.blob == blob)
            #expect((try? AuthorizedKeys.parse(#"command="unterminated ssh-ed25519 "# + blob).get()) == nil)
        }
    }
}

/// The parent-death signal follows the thread that forked a child, and the cooperative pool's threads
/// come and go: children are forked on one thread that never ends, so they outlive whoever asked.
@Suite("Faults: children outlive the thread that asked for them")
struct SpawnThreadTests {
    @Test func aChildOutlivesTheThreadThatSpawnedIt() async throws {
        let child = try await onThread {
            try TestSupport.supervisor.spawn(ProcessSpec(executable: "/bin/sleep", arguments: ["30"], stdout: .null, stderr: .null))
        }
        // That thread has ended; with the signal tied to it, the child would be dead by now.
        try await Task.sleep(for: .seconds(1))
        #expect(child.exitStatus == nil && isAlive(child.pid))
        child.signal(SIGKILL)
        #expect(await child.wait() == .signaled(SIGKILL))
    }
}

