import Controller
import Foundation
import Testing
import TestProcesses

/// Authentication over real libssh sessions against the real sshd fleet: every identity-file key type,
/// a real `ssh-agent`, and the errors people see when none of it works.
@Suite("Authentication against real sshd")
struct AuthTests {
    let fleet = SSHDFleet.shared

    private func run(_ pod: Pod, _ settings: ConnectionSettings) -> PodResult? {
        ExecRunner.run(pods: [pod], request: ExecRequest(command: "echo \"auth ok $POD_NAME\""), settings: settings).first
    }

    @Test(arguments: ["ed25519", "ecdsa", "rsa"])
    func identityFileOfEachKeyType(type: String) throws {
        var pod = fleet.pods[2]
        pod.identity = switch type {
        case "ecdsa": fleet.ecdsaKey
        case "rsa": fleet.rsaKey
        default: fleet.clientKey
        }
        let result = try #require(run(pod, fleet.settings()))
        #expect(result.status == .ok, "\(type): \(result.errorMessage ?? "")")
        #expect(String(decoding: result.stdout, as: UTF8.self) == "auth ok \(pod.name)\n")
    }

    @Test func sshAgentAuthenticatesWhenThePodNamesNoIdentity() throws {
        let dir = try Shell.temporaryDirectory("agent")
        let socket = "\(dir)/agent.sock"
        let agent = try Shell.spawn(["/usr/bin/ssh-agent", "-D", "-a", socket], stderr: "\(dir)/agent.log")
        defer { Shell.stop(agent) }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(50_000) }
        var environment = Shell.environment()
        environment["SSH_AUTH_SOCK"] = socket
        let added = try Shell.run(["/usr/bin/ssh-add", fleet.agentOnlyKey], environment: environment)
        try #require(added.status == 0, "ssh-add: \(added.stderr)")

        var pod = fleet.pods[3]
        pod.identity = nil
        let viaAgent = try #require(run(pod, fleet.settings(agentSocket: socket)))
        #expect(viaAgent.status == .ok, "\(viaAgent.errorMessage ?? "")")
        #expect(String(decoding: viaAgent.stdout, as: UTF8.self) == "auth ok \(pod.name)\n")

        // The agent is really what let us in: without it, or with it emptied, the same pod refuses.
        let noAgent = try #require(run(pod, fleet.settings()))
        #expect(noAgent.status == .auth)
        #expect(noAgent.errorMessage?.contains("no identity file or ssh-agent available") == true, "\(noAgent.errorMessage ?? "")")
        let emptied = try Shell.run(["/usr/bin/ssh-add", "-D"], environment: environment)
        try #require(emptied.status == 0, "ssh-add -D: \(emptied.stderr)")
        let refused = try #require(run(pod, fleet.settings(agentSocket: socket)))
        #expect(refused.status == .auth)
        #expect(refused.errorMessage?.contains("ssh-agent at \(socket)") == true, "\(refused.errorMessage ?? "")")
    }

    @Test func encryptedOrMissingIdentityIsNamedInTheError() throws {
        let dir = try Shell.temporaryDirectory("locked-key")
        let locked = "\(dir)/locked_ed25519"
        let made = try Shell.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-C", "locked", "-f", locked])
        try #require(made.status == 0, "ssh-keygen: \(made.stderr)")
        for identity in [locked, "\(dir)/missing_key"] {
            var pod = fleet.pods[4]
            pod.identity = identity
            let result = try #require(run(pod, fleet.settings()))
            #expect(result.status == .auth)
            #expect(result.errorMessage?.contains("\(identity) (unreadable or encrypted)") == true, "\(result.errorMessage ?? "")")
            #expect(result.stdout.isEmpty)
        }
    }
}
