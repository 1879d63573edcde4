import Controller
import Foundation
import SSHClient
import Testing
import TestProcesses

@Suite("Host key policies against real sshd")
struct HostKeyTests {
    let fleet = SSHDFleet.shared

    func run(_ settings: ConnectionSettings, pods: [Pod]? = nil) -> [PodResult] {
        ExecRunner.run(pods: pods ?? Array(fleet.pods.prefix(4)), request: ExecRequest(command: "true"), settings: settings)
    }

    @Test func strictRefusesUnknownKeysAndPrintsTheFingerprint() throws {
        let dir = try Shell.temporaryDirectory("kh")
        let results = run(fleet.settings(policy: .strict, knownHosts: "\(dir)/known_hosts"))
        for result in results {
            #expect(result.status == .hostKey)
            #expect(result.errorKind == "host-key-unknown")
            #expect(result.errorMessage?.contains("SHA256:") == true)
            #expect(result.errorMessage?.contains("accept-new") == true)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/known_hosts"))
    }

    @Test func acceptNewRecordsKeysThenStrictAcceptsThem() throws {
        let dir = try Shell.temporaryDirectory("kh")
        let file = "\(dir)/sub/known_hosts"
        let first = run(fleet.settings(policy: .acceptNew, knownHosts: file), pods: fleet.pods)
        #expect(first.allSatisfy { $0.status == .ok })
        let recorded = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(recorded.count == 16)
        // The fingerprint libssh recorded matches what ssh-keygen computes for the pod's key file.
        let again = run(fleet.settings(policy: .strict, knownHosts: file), pods: fleet.pods)
        #expect(again.allSatisfy { $0.status == .ok })
        let lookup = try Shell.run(["/usr/bin/ssh-keygen", "-F", "[127.0.0.1]:\(fleet.pods[0].port)", "-f", file])
        #expect(lookup.status == 0)
    }

    @Test func changedKeyIsRefusedEvenWithAcceptNew() throws {
        let dir = try Shell.temporaryDirectory("kh")
        let file = "\(dir)/known_hosts"
        // pod01's entry carries pod02's key: exactly what a recreated pod looks like to the client.
        let pod02Key = fleet.hostKeyLines[1].split(separator: " ").dropFirst().joined(separator: " ")
        let lines = ["[127.0.0.1]:\(fleet.pods[0].port) \(pod02Key)"] + fleet.hostKeyLines.dropFirst()
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let before = try String(contentsOfFile: file, encoding: .utf8)
        for policy in [HostKeyPolicyChoice.strict, .acceptNew] {
            let results = run(fleet.settings(policy: policy, knownHosts: file), pods: Array(fleet.pods.prefix(2)))
            #expect(results[0].status == .hostKey)
            #expect(results[0].errorKind == "host-key-changed")
            #expect(results[0].errorMessage?.contains("ssh-keygen -R") == true)
            #expect(results[1].status == .ok)
        }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == before)
        // off connects anyway (only when asked).
        let off = run(fleet.settings(policy: .off, knownHosts: file), pods: [fleet.pods[0]])
        #expect(off.first?.status == .ok)
    }
}
