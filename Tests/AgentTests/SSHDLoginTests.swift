import Foundation
import Testing

@testable import Agent

/// podagent managing a real OpenSSH sshd, used with the real `ssh` and `sftp` clients.
@Suite("sshd under podagent: logins")
struct SSHDLoginTests {
    @Test("ssh with the key from PUBLIC_KEY runs a command: output and exit code come back; passwords are refused")
    func commandOutputAndExitCode() async throws {
        try await withWorkspace { workspace in
            let port = Tools.freePort()
            try await PodAgentProcess.with(
                workspace, config: workspace.config(sshPort: port), sshPort: port, environment: ["PUBLIC_KEY": try workspace.publicKey]) { agent in
                let status = try await agent.waitForSSHD()
                #expect(status.details["authorized_keys"] == "1")
                #expect(status.details["host_key_ed25519"]?.hasPrefix("SHA256:") == true)

                let output = try await agent.ssh("echo hello-from-pod; whoami; exit 42")
                #expect(output.stdout == "hello-from-pod\nroot\n")
                #expect(output.status == .exited(42))

                // No password or keyboard-interactive method is even offered.
                let password = try await Tools.run("/usr/bin/ssh", agent.sshArguments(options: [
                    "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
                ]) + ["root@127.0.0.1", "true"])
                #expect(password.status == .exited(255))
                #expect(password.stderr.contains("Permission denied (publickey)"), "\(password.stderr)")

                let config = try String(contentsOfFile: workspace.path + "/state/ssh/sshd_config", encoding: .utf8)
                #expect(config.contains("PasswordAuthentication no"))
                #expect(config.contains("AllowTcpForwarding yes"))
            }
        }
    }

    @Test("sftp round-trips a file")
    func sftpRoundTrip() async throws {
        try await withWorkspace { workspace in
            let port = Tools.freePort()
            try await PodAgentProcess.with(
                workspace, config: workspace.config(sshPort: port), sshPort: port, environment: ["PUBLIC_KEY": try workspace.publicKey]) { agent in
                try await agent.waitForSSHD()

                let payload = Data((0..<200_000).map { _ in UInt8.random(in: 0...255) })
                let local = workspace.path + "/upload.bin"
                let remote = workspace.path + "/remote.bin"
                let back = workspace.path + "/download.bin"
                try payload.write(to: URL(fileURLWithPath: local))
                let batch = try workspace.write("put \(local) \(remote)\nget \(remote) \(back)\n", to: "sftp-batch")
                let output = try await Tools.run("/usr/bin/sftp", agent.sshArguments().filter { $0 != "-p" && $0 != String(port) } + [
                    "-P", String(port), "-b", batch, "root@127.0.0.1",
                ])
                #expect(output.status.succeeded, "sftp: \(output.stderr)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: back)) == payload)
            }
        }
    }

    @Test("ssh -L reaches an HTTP server inside the pod, as VS Code Remote-SSH does")
    func localPortForward() async throws {
        try await withWorkspace { workspace in
            let port = Tools.freePort()
            try await PodAgentProcess.with(
                workspace, config: workspace.config(sshPort: port), sshPort: port, environment: ["PUBLIC_KEY": try workspace.publicKey]) { agent in
                try await agent.waitForSSHD()

                // The HTTP server inside the pod is podagent's own API, on loopback.
                let localPort = Tools.freePort()
                let tunnel = try Tools.supervisor.spawn(ProcessSpec(
                    executable: "/usr/bin/ssh",
                    arguments: agent.sshArguments(options: ["-N", "-o", "ExitOnForwardFailure=yes", "-L", "\(localPort):127.0.0.1:\(agent.httpPort)"])
                        + ["root@127.0.0.1"]))
                defer { tunnel.signalGroup(SIGKILL) }
                var answer: AgentResponse?
                let deadline = ContinuousClock.now + .seconds(15)
                while answer == nil, ContinuousClock.now < deadline, tunnel.exitStatus == nil {
                    answer = try? blockingGet("http://127.0.0.1:\(localPort)/v2/health/live", timeout: .seconds(2))
                    if answer == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                let response = try #require(answer, "no answer through the tunnel (ssh \(tunnel.exitStatus.map { "\($0)" } ?? "running"))")
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self).contains("\"live\""))
            }
        }
    }

    @Test("the non-root user logs in with the key and sees the pod's environment, but not its secrets")
    func nonRootUserAndEnvironment() async throws {
        let user = Tools.userName()
        try await Tools.withUserDeleted(user) {
            try await withWorkspace { workspace in
                let port = Tools.freePort()
                // The hook goes into the user's own ~/.bashrc, which (like Debian's) returns early for non-interactive shells.
                let config = workspace.config(sshPort: port, bashrc: "/home/\(user)/.bashrc", user: user)
                    + "  user_sudo: true\n"
                try await PodAgentProcess.with(
                    workspace, config: config, sshPort: port,
                    environment: [
                        "PUBLIC_KEY": try workspace.publicKey, "CUDA_HOME": "/usr/local/cuda-12.1",
                        "PYTHONPATH": "/workspace/it's quoted", "HF_TOKEN": "hf_secret_value",
                    ]) { agent in
                    let status = try await agent.waitForSSHD()
                    #expect(status.details["user"] == user)

                    let output = try await agent.ssh("id -un; echo \"cuda=$CUDA_HOME\"; echo \"pp=$PYTHONPATH\"; echo \"token=${HF_TOKEN:-none}\"", user: user)
                    #expect(output.status.succeeded, "ssh as \(user): \(output.stderr)")
                    #expect(output.stdout == "\(user)\ncuda=/usr/local/cuda-12.1\npp=/workspace/it's quoted\ntoken=none\n")

                    // No password: the hash matches nothing, yet the account is not locked (which would stop key logins without PAM).
                    let shadow = try String(contentsOfFile: "/etc/shadow", encoding: .utf8)
                    let entry = try #require(shadow.split(separator: "\n").first { $0.hasPrefix("\(user):") })
                    #expect(entry.split(separator: ":", omittingEmptySubsequences: false)[1] == "*")

                    let sudoers = try String(contentsOfFile: "\(workspace.path)/sudoers/podagent-\(user)", encoding: .utf8)
                    #expect(sudoers.contains("\(user) ALL=(ALL) NOPASSWD:ALL"))
                    let check = try await Tools.run("/usr/sbin/visudo", ["-c", "-f", "\(workspace.path)/sudoers/podagent-\(user)"])
                    #expect(check.status.succeeded, "visudo: \(check.stdout) \(check.stderr)")

                    // The hook is one marked line, first in the file (before the early return).
                    let rc = try String(contentsOfFile: "/home/\(user)/.bashrc", encoding: .utf8)
                    #expect(rc.hasPrefix("[ -r \(workspace.path)/env/podagent-env.sh ]"))
                    #expect(rc.components(separatedBy: PodEnvironment.hookMarker).count == 2)
                }
            }
        }
    }
}
