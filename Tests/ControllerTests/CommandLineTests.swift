import Controller
import Foundation
import Testing
import TestProcesses

/// The `podctl` binary itself against the real sshd fleet: what only shows from outside the process
/// (HOME's ssh config, a terminal, a descriptor limit, launching VS Code).
@Suite("podctl command line")
struct CommandLineTests {
    let fleet = SSHDFleet.shared

    /// An inventory holding `pods`, written to a fresh directory.
    private func inventory(_ pods: [Pod], in dir: String) throws -> String {
        let lines = pods.map { "  - {name: \($0.name), host: \($0.host), port: \($0.port), user: root, identity: \(fleet.clientKey)}" }
        let path = "\(dir)/fleet.yaml"
        try (["pods:"] + lines).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// README's one exit-status table: bad usage is 2 whether podctl or swift-argument-parser finds it,
    /// and each error is printed once as `podctl: error: ...` (or the parser's usage text).
    @Test func exitStatusesFollowTheOneTable() throws {
        let dir = try Shell.temporaryDirectory("exit-table")
        let environment = Shell.environment(["HOME": dir])
        let noCommand = try Shell.run([Shell.binary("podctl"), "exec"], environment: environment)
        #expect(noCommand.status == 2 && noCommand.stderr.contains("give the command after --"), "\(noCommand.stderr)")
        let unknownFlag = try Shell.run([Shell.binary("podctl"), "health", "--no-such-flag"], environment: environment)
        #expect(unknownFlag.status == 2, "\(unknownFlag.stderr)")
        try "pods: [{name: a, host: h, port: nope}]\n".write(toFile: "\(dir)/fleet.yaml", atomically: true, encoding: .utf8)
        let badInventory = try Shell.run([Shell.binary("podctl"), "exec", "-i", "\(dir)/fleet.yaml", "--", "true"], environment: environment)
        #expect(badInventory.status == 2 && badInventory.stderr.hasPrefix("podctl: error: \(dir)/fleet.yaml:1"), "\(badInventory.stderr)")
        #expect(badInventory.stderr.components(separatedBy: "podctl: error:").count == 2, "printed once: \(badInventory.stderr)")
        let missingToken = try Shell.run([Shell.binary("podctl"), "infer", "--token-file", "\(dir)/none", "--path", "sample_id=x",
                                          "root@127.0.0.1:1", "Demo"], environment: environment)
        #expect(missingToken.status == 2 && missingToken.stderr.contains("--token-file \(dir)/none: cannot be read"), "\(missingToken.stderr)")
        let help = try Shell.run([Shell.binary("podctl"), "--help"], environment: environment)
        #expect(help.status == 0 && help.stdout.contains("compare"))
    }

    @Test func hostFromTheUsersSSHConfigIsUsableByName() throws {
        let home = try Shell.temporaryDirectory("home-config")
        try FileManager.default.createDirectory(atPath: "\(home)/.ssh", withIntermediateDirectories: true)
        let pod = fleet.pods[5]
        try """
            Host devbox
              HostName 127.0.0.1
              Port \(pod.port)
              User root
              IdentityFile \(fleet.clientKey)
            """.write(toFile: "\(home)/.ssh/config", atomically: true, encoding: .utf8)
        let fleetFile = try inventory([fleet.pods[0]], in: home)
        var environment = Shell.environment()
        environment["HOME"] = home
        let result = try Shell.run([Shell.binary("podctl"), "exec", "-i", fleetFile, "--known-hosts", fleet.knownHosts, "-w", "devbox",
                                    "--", "echo on $POD_NAME"], environment: environment, timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "devbox: on \(pod.name)\n")
        #expect(result.stderr.contains("1 ok"), "\(result.stderr)")
    }

    @Test func progressLineOnATerminalOnlyAndNeverGluedToOutput() throws {
        let dir = try Shell.temporaryDirectory("progress")
        let fleetFile = try inventory(fleet.pods, in: dir)
        let command = [Shell.binary("podctl"), "exec", "-i", fleetFile, "--known-hosts", fleet.knownHosts, "--", "echo hi"]
        // `script` gives podctl a real pseudo-terminal on stdout and stderr.
        let quoted = command.map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }.joined(separator: " ")
        let onTerminal = try Shell.run(["/usr/bin/script", "-qfec", quoted, "/dev/null"], environment: Shell.environment(), timeout: 90)
        #expect(onTerminal.status == 0, "\(onTerminal.stdout)")
        #expect(onTerminal.stdout.contains("[16/16 done, 0 failed]"), "\(onTerminal.stdout)")
        // What a terminal finally shows on each row: the text after the row's last carriage return.
        let rows = onTerminal.stdout.components(separatedBy: "\r\n").map {
            ($0.components(separatedBy: "\r").last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
        }
        for pod in fleet.pods {
            #expect(rows.contains("\(pod.name): hi"), "\(pod.name)'s line is missing or has the progress line glued to it")
        }
        #expect(!rows.contains { $0.contains("done,") }, "the progress line was left on screen")

        let piped = try Shell.run(command, environment: Shell.environment(), timeout: 90)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(!piped.stderr.contains("\r") && !piped.stderr.contains("done,"), "\(piped.stderr)")
        #expect(piped.stdout.split(separator: "\n").count == 16)
    }

    @Test func descriptorsStayBoundedByTheWindow() throws {
        let dir = try Shell.temporaryDirectory("fd-bound")
        // 160 pods (ten names per real sshd) under a 40-descriptor limit: only the window's sessions are open at once.
        let pods = (0..<160).map { index in
            let pod = fleet.pods[index % fleet.pods.count]
            return Pod(name: String(format: "node%03d", index + 1), host: pod.host, port: pod.port)
        }
        let fleetFile = try inventory(pods, in: dir)
        func exec(fanout: Int) throws -> Shell.Result {
            try Shell.run(["/bin/sh", "-c", "ulimit -n 40 && exec \"$0\" \"$@\"", Shell.binary("podctl"), "exec", "-i", fleetFile,
                           "--known-hosts", fleet.knownHosts, "-f", "\(fanout)", "-b", "--", "echo same"],
                          environment: Shell.environment(), timeout: 180)
        }
        let windowed = try exec(fanout: 8)
        #expect(windowed.status == 0, "\(windowed.stderr.suffix(2000))")
        #expect(windowed.stdout == "---------------\nnode[001-160] (exit 0)\n---------------\nsame\n", "\(windowed.stdout.prefix(300))")
        #expect(windowed.stderr.contains("160 pods: 160 ok"), "\(windowed.stderr.suffix(500))")
        // The limit is real: a window wider than it runs out, and says so per pod instead of crashing.
        let tooWide = try exec(fanout: 64)
        #expect(tooWide.status == 1, "\(tooWide.stderr.suffix(500))")
        #expect(tooWide.stderr.contains("160 pods:"), "\(tooWide.stderr.suffix(500))")
        #expect(tooWide.stderr.contains("Too many open files"), "\(tooWide.stderr.suffix(1000))")
    }

    @Test func codeOpensRemoteSSHInAStandInVSCode() throws {
        // VS Code cannot exist here: a STAND-IN `code` on PATH records how podctl launches it.
        let dir = try Shell.temporaryDirectory("code")
        // Written by a child shell: a descriptor open for writing in this (forking) test process could leak into
        // another test's child and make exec fail with "text file busy".
        let made = try Shell.run(["/bin/sh", "-c", "mkdir -p \"$0/bin\" && cat > \"$0/bin/code\" && chmod 755 \"$0/bin/code\"", dir],
                                 input: "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"\(dir)/code-args\"\n")
        try #require(made.status == 0, "\(made.stderr)")
        var environment = Shell.environment()
        environment["PATH"] = "\(dir)/bin:/usr/bin:/bin"
        let opened = try Shell.run([Shell.binary("podctl"), "code", "pod03", "/workspace/src"], environment: environment)
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(opened.stdout == "vscode://vscode-remote/ssh-remote+pod03/workspace/src\n")
        let arguments = try String(contentsOfFile: "\(dir)/code-args", encoding: .utf8)
        #expect(arguments == "--remote\nssh-remote+pod03\n/workspace/src\n")

        try FileManager.default.removeItem(atPath: "\(dir)/code-args")
        let printOnly = try Shell.run([Shell.binary("podctl"), "code", "pod03", "--print-only"], environment: environment)
        #expect(printOnly.status == 0 && printOnly.stdout == "vscode://vscode-remote/ssh-remote+pod03/workspace\n")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/code-args"))
    }
}
