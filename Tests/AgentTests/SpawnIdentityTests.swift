import Foundation
import Testing

@testable import Agent

/// A child started with an identity (`pa_spawn_as`: fork, set up, take the identity, exec) runs as
/// that user, for good, and is set up like a posix_spawn child. Tests run as root (CI does too):
/// only root can switch users.
@Suite struct SpawnIdentityTests {
    static func nobody() throws -> ProcessIdentity {
        try #require(geteuid() == 0, "these tests switch users: run them as root, as CI does")
        return try #require(ProcessIdentity.lookup("nobody"), "the test machine has a 'nobody' account")
    }

    /// Runs `script` under /bin/sh as `identity` and returns its stdout.
    static func run(_ script: String, as identity: ProcessIdentity?, directory: String? = nil) async throws -> (String, Agent.ExitStatus) {
        let child = try TestSupport.supervisor.spawn(ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": "/usr/bin:/bin"],
            workingDirectory: directory, stdin: .null, stdout: .pipe, stderr: .pipe, identity: identity))
        let output = child.stdout.map { String(decoding: $0.readToEnd(), as: UTF8.self) } ?? ""
        return (output, await child.wait())
    }

    static func status(_ text: String, _ key: String) -> String {
        text.split(separator: "\n").first { $0.hasPrefix("\(key):") }
            .map { $0.dropFirst(key.count + 1).split(whereSeparator: \.isWhitespace).joined(separator: " ") } ?? ""
    }

    @Test func theChildRunsAsTheUserWithItsGroupsAndCannotGetRootBack() async throws {
        let nobody = try Self.nobody()
        let (output, exit) = try await Self.run("cat /proc/self/status", as: nobody)
        #expect(exit == .exited(0))
        let uid = "\(nobody.uid)"
        let gid = "\(nobody.gid)"
        // Real, effective, saved and filesystem ids: nothing of root is left to switch back to.
        #expect(Self.status(output, "Uid") == [uid, uid, uid, uid].joined(separator: " "))
        #expect(Self.status(output, "Gid") == [gid, gid, gid, gid].joined(separator: " "))
        #expect(Self.status(output, "Groups").split(separator: " ").map(String.init).sorted() == nobody.groups.map { "\($0)" }.sorted())
        #expect(!Self.status(output, "Groups").split(separator: " ").contains("0"))
        // No capabilities either (a root-to-user switch clears them).
        #expect(Self.status(output, "CapEff") == "0000000000000000")
        #expect(Self.status(output, "CapPrm") == "0000000000000000")
    }

    @Test func theChildIsSetUpLikeAPosixSpawnChild() async throws {
        let nobody = try Self.nobody()
        // podagent ignores SIGPIPE and may block signals: the child must start with neither.
        let script = "cat /proc/self/status; echo fds:; ls /proc/$$/fd; echo pgid: $(cut -d\" \" -f5 /proc/$$/stat) pid: $$; echo cwd: $(pwd)"
        let (output, exit) = try await Self.run(script, as: nobody, directory: "/")
        #expect(exit == .exited(0))
        #expect(Self.status(output, "SigBlk") == "0000000000000000")
        #expect(Self.status(output, "SigIgn") == "0000000000000000")
        let lines = output.split(separator: "\n").map(String.init)
        let fds = lines.drop { $0 != "fds:" }.dropFirst().prefix { !$0.hasPrefix("pgid:") }
        #expect(Array(fds) == ["0", "1", "2"], "only the three streams reach the program, got \(fds)")
        let pg = output.split(separator: "\n").first { $0.hasPrefix("pgid:") }?.split(separator: " ") ?? []
        #expect(pg.count == 4 && pg[1] == pg[3], "the child leads its own process group: \(pg)")
        #expect(output.contains("cwd: /\n"))
    }

    @Test func aFailureBeforeExecIsReturnedAndLeavesNoChild() async throws {
        let nobody = try Self.nobody()
        #expect(throws: AgentError.self) {
            _ = try TestSupport.supervisor.spawn(ProcessSpec(
                executable: "/bin/sh", arguments: ["-c", "true"], workingDirectory: "/nonexistent-\(UUID().uuidString)", identity: nobody))
        }
        // A program the user may not execute: the error names it (EACCES), nothing is left running.
        let dir = try TestSupport.temporaryDirectory("identity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = "\(dir)/root-only.sh"
        try TestSupport.writeScript(script, "#!/bin/sh\necho ran\n")
        chmod(script, 0o700)
        do {
            _ = try TestSupport.supervisor.spawn(ProcessSpec(executable: script, identity: nobody))
            Issue.record("a root-only program started as nobody")
        } catch {
            #expect(error.message.contains("Permission denied"), "\(error.message)")
        }
    }

    @Test func withoutAnIdentityTheChildKeepsPodagentsUser() async throws {
        let (output, exit) = try await Self.run("id -u", as: nil)
        #expect(exit == .exited(0))
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(geteuid())")
    }

    @Test func lookupFindsAccountsByNameAndUID() throws {
        let nobody = try Self.nobody()
        #expect(ProcessIdentity.lookup("\(nobody.uid)") == nobody)
        #expect(ProcessIdentity.lookup("no-such-user-\(UUID().uuidString.prefix(6))") == nil)
        var environment = ["HOME": "/root", "USER": "root"]
        nobody.apply(to: &environment)
        #expect(environment == ["HOME": nobody.home, "USER": nobody.name, "LOGNAME": nobody.name])
    }
}
