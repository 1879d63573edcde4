import Foundation
import Testing

@testable import Agent

/// The pure parts of the sshd manager: key parsing, backoff, environment file, sshd_config text.
@Suite("sshd manager parts")
struct SSHUnitTests {
    static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@laptop"

    @Test("authorized keys: good lines kept once, each bad line reported with its source, line and reason")
    func authorizedKeys() {
        let keys = AuthorizedKeys(
            environment: ["PUBLIC_KEY": "\(Self.ed25519)\n\n# a comment\nssh-rsa\n\(Self.ed25519)", "SSH_PUBLIC_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----"],
            configured: ["ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ== mixed", "no-pty,restrict \(Self.ed25519)"])
        #expect(keys.keys.count == 1)
        #expect(keys.problems.map(\.description) == [
            "PUBLIC_KEY line 4: ssh-rsa key without its base64 data",
            "SSH_PUBLIC_KEY line 1: this is a private key; paste the .pub file instead",
            "ssh.authorized_keys[0] line 1: the key data does not hold a ssh-ed25519 key (mixed-up type or corrupted key)",
        ])
        #expect(keys.render().hasSuffix("\(Self.ed25519)\n"))
    }

    @Test("restart backoff: at once, then 100 ms doubling to 30 s, reset after a long run")
    func backoff() {
        var backoff = RestartBackoff()
        let quick = Duration.seconds(1)
        let delays = (0..<12).map { _ in backoff.next(afterRunning: quick) }
        #expect(delays.prefix(5) == [.zero, .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800)])
        #expect(delays.last == .seconds(30))
        #expect(backoff.next(afterRunning: .seconds(61)) == .zero)
        #expect(backoff.next(afterRunning: quick) == .milliseconds(100))
    }

    @Test("pod environment: secrets, keys and session variables stay out; values are quoted for sh")
    func podEnvironment() {
        let env = PodEnvironment(
            environment: [
                "CUDA_HOME": "/usr/local/cuda", "QUOTE": "it's", "PUBLIC_KEY": "k", "HF_TOKEN": "t", "RUNPOD_API_KEY": "a",
                "HOME": "/root", "MY_PRIVATE": "x", "PODAGENT_SSH": "on", "bad-name": "x", "RUNPOD_POD_ID": "abc",
                // What `podagent health` in a session needs: the port and the token file's path, never the token.
                "PODAGENT_TOKEN": "secret", "PODAGENT_TOKEN_FILE": "/run/secrets/token", "PODAGENT_HTTP_PORT": "8080",
            ],
            hide: ["MY_*"])
        #expect(env.variables.map(\.name) == ["CUDA_HOME", "PODAGENT_HTTP_PORT", "PODAGENT_TOKEN_FILE", "QUOTE", "RUNPOD_POD_ID"])
        #expect(PodEnvironment(environment: ["PODAGENT_TOKEN_FILE": "/t"], hide: ["PODAGENT_*"]).variables.isEmpty)
        #expect(env.render().contains("export QUOTE='it'\\''s'\n"))
    }

    @Test("the bash rc hook goes first, once, and keeps the rest of the file")
    func bashrcHook() throws {
        let dir = NSTemporaryDirectory() + "podagent-hook-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rc = dir + "/bashrc"
        try "[ -z \"$PS1\" ] && return\nalias ll='ls -l'\n".write(toFile: rc, atomically: true, encoding: .utf8)
        try PodEnvironment.installHook(in: rc, envFile: "/a/env.sh")
        try PodEnvironment.installHook(in: rc, envFile: "/b/env.sh")
        let text = try String(contentsOfFile: rc, encoding: .utf8)
        #expect(text == "\(PodEnvironment.hookLine(envFile: "/b/env.sh"))\n[ -z \"$PS1\" ] && return\nalias ll='ls -l'\n")
    }

    @Test("sshd_config: hardened defaults, options replace a default or are appended, managed keywords refused")
    func sshdConfigText() throws {
        var settings = AgentConfig.SSH()
        settings.port = 2222
        settings.options = ["ClientAliveInterval 60", "MaxSessions 20", "Match User bob", "  X11Forwarding yes"]
        let text = try SSHDConfigFile(settings: settings, hostKeys: ["/s/k"], pidFile: "/s/pid").render()
        for line in ["Port 2222", "HostKey /s/k", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                     "PermitRootLogin prohibit-password", "AllowTcpForwarding yes", "Subsystem sftp internal-sftp",
                     "ClientAliveCountMax 4", "AcceptEnv LANG LC_*", "PidFile /s/pid", "ClientAliveInterval 60", "MaxSessions 20"] {
            #expect(text.contains(line + "\n"), "missing \(line)")
        }
        #expect(!text.contains("ClientAliveInterval 30"))
        #expect(text.hasSuffix("Match User bob\nX11Forwarding yes\n"))

        settings.options = ["PasswordAuthentication yes"]
        #expect(throws: AgentError.self) { try SSHDConfigFile(settings: settings, hostKeys: [], pidFile: "/p").render() }
    }

    @Test("a locked account (\"!\" hash) is recognised; \"*\" is not locked")
    func lockedAccount() throws {
        let file = NSTemporaryDirectory() + "podagent-shadow-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "alice:!:19000:0:99999:7:::\nbob:*:19000:0:99999:7:::\nalicia:!$6$x:1::::::\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(LoginUser.isLocked("alice", shadowFile: file))
        #expect(!LoginUser.isLocked("bob", shadowFile: file))
        #expect(LoginUser.isLocked("alicia", shadowFile: file))
        #expect(!LoginUser.isLocked("carol", shadowFile: file))
    }

    @Test("ssh config keys: environment variables and validation")
    func configKeys() throws {
        let loader = ConfigLoader(environment: ["PODAGENT_SSH": "off", "PODAGENT_SSH_PORT": "2200", "PODAGENT_SSH_USER": "true"])
        let config = try loader.load()
        #expect(config.ssh.enabled == .off)
        #expect(config.ssh.port == 2200)
        #expect(config.ssh.user == "runpod")
        #expect(throws: AgentError.self) { try ConfigLoader(environment: ["PODAGENT_SSH_USER": "Bad Name"]).load() }
        #expect(throws: AgentError.self) { try ConfigLoader(environment: ["PODAGENT_SSH_PORT": "70000"]).load() }
    }
}
