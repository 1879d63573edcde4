import Foundation
import Testing

@testable import Agent

@Suite("podagent diagnose bundle and failure log (GPU faked)")
struct DiagnoseTests {
    static let token = "tok-Zq8vY3kP0sWx7mN2"
    static let fileToken = "filetok-Hh4Jk9Lm2Qw8Er"

    @Test func fakeGPUBundleHasEveryPartAndNoSecret() async throws {
        let dir = try TestSupport.temporaryDirectory("diagnose")
        let state = dir + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let tokenFile = dir + "/token"
        try (Self.fileToken + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let configFile = dir + "/podagent.yaml"
        try """
            state_dir: \(state)
            plugins_dir: \(TestSupport.repoRoot.path)/Plugins
            log:
              level: debug
            """.write(toFile: configFile, atomically: true, encoding: .utf8)
        // A log line and a failure that (wrongly) carry the token: the bundle must still not.
        let log = try LogFile(path: state + "/" + LogFile.defaultName)
        log.append(Data(#"{"message":"started"}"#.utf8))
        log.append(Data(#"{"message":"header was Bearer \#(Self.token)"}"#.utf8))
        let failures = FailureLog(stateDir: state)
        try failures.record(model: "demo", requestID: "req-1", attempt: 2, kind: "crash", message: "worker died",
                            traceback: "Traceback (most recent call last):\n  token=\(Self.fileToken)\nRuntimeError: boom")
        let loader = ConfigLoader(file: configFile, environment: [
            "PODAGENT_TOKEN": Self.token, "PODAGENT_TOKEN_FILE": tokenFile, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "CUDA_VISIBLE_DEVICES": "0", "MY_API_KEY": "apikey-value-123",
        ])
        let probe = FakeGPUProbe(report: GPUReport(available: true, source: "fake", reason: nil, devices: [
            GPUDevice(index: 0, name: "Fake GPU (test)", uuid: "GPU-fake-0", memory_total_mib: 100, memory_used_mib: 10, memory_free_mib: 90,
                      utilization_percent: 0, temperature_c: 30, processes: []),
        ]))
        let output = dir + "/bundle.tar.gz"
        let files = try await DiagnosticsBundle(loader: loader, runner: CommandRunner(supervisor: TestSupport.supervisor), probe: probe).write(to: output)
        #expect(files.contains("log-tail.txt"))

        let unpacked = dir + "/unpacked"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        let tar = try await Tools.run("/bin/tar", ["-xzf", output, "-C", unpacked])
        try #require(tar.status.succeeded, "tar: \(tar.stderr)")
        let root = unpacked + "/bundle"
        func read(_ name: String) throws -> String { try String(contentsOfFile: root + "/" + name, encoding: .utf8) }

        #expect(try read("versions.txt").contains("podagent: \(PodAgentVersion.current)"))
        #expect(try read("versions.txt").contains("python3: "))
        #expect(try read("config.txt").contains("stateDir = \(state)"))
        #expect(try read("config.txt").contains("log.level = debug"))
        #expect(try read("config-file.yaml").contains("level: debug"))
        let environment = try read("environment.txt")
        #expect(environment.contains("PODAGENT_TOKEN=<redacted>"))
        #expect(environment.contains("MY_API_KEY=<redacted>") == false)  // not a variable diagnose shows
        #expect(environment.contains("CUDA_VISIBLE_DEVICES=0"))
        #expect(try read("log-tail.txt").contains("started"))
        #expect(try read("log-tail.txt").contains("Bearer <redacted>"))
        let failure = try read("failures.jsonl")
        #expect(failure.contains(#""request_id":"req-1""#))
        #expect(failure.contains("RuntimeError: boom"))
        #expect(try read("gpu.json").contains("Fake GPU (test)"))
        #expect(FileManager.default.fileExists(atPath: root + "/manifests/MapTR/plugin.yaml"))
        #expect(try read("summary.txt").contains("state_dir: \(state)"))

        // No file of the bundle, and not the archive itself, contains either token.
        let grep = try await Tools.run("/bin/grep", ["-r", "-l", "-e", Self.token, "-e", Self.fileToken, root])
        #expect(grep.status == .exited(1), "a token is in: \(grep.stdout)")
        let zgrep = try await Tools.run("/bin/sh", ["-c", "gzip -dc '\(output)' | grep -c -e '\(Self.token)' -e '\(Self.fileToken)'"])
        #expect(zgrep.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        // Nothing half-written is left beside the bundle.
        let siblings = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(!siblings.contains { $0.contains(".tmp-") })
    }

    @Test func unwritableDestinationFailsWithoutAPartialFile() async throws {
        let dir = try TestSupport.temporaryDirectory("diagnose-bad")
        let loader = ConfigLoader(file: nil, environment: ["PODAGENT_STATE_DIR": dir + "/state", "PATH": "/usr/bin:/bin"])
        let bundle = DiagnosticsBundle(loader: loader, runner: CommandRunner(supervisor: TestSupport.supervisor), probe: FakeGPUProbe(report: .unavailable("no GPU (fake)")))
        let output = dir + "/missing-dir/bundle.tar.gz"
        await #expect(throws: AgentError.self) { try await bundle.write(to: output) }
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir + "/missing-dir")) == nil)
    }

    @Test func failureLogKeepsTheNewestAcrossRestartsAndSkipsDamagedLines() throws {
        let state = try TestSupport.temporaryDirectory("failures")
        let first = FailureLog(stateDir: state, limit: 3)
        for attempt in 1...5 {
            try first.record(model: "petr", requestID: "r\(attempt)", attempt: attempt, kind: "timeout", message: "took too long", traceback: nil)
        }
        #expect(first.recent.map(\.request_id) == ["r3", "r4", "r5"])
        // A damaged line (an edit by hand, a disk problem) is skipped, not fatal.
        let handle = try #require(FileHandle(forWritingAtPath: first.path))
        handle.seekToEndOfFile()
        handle.write(Data("{not json\n".utf8))
        try handle.close()
        let second = FailureLog(stateDir: state, limit: 3)
        #expect(second.recent.map(\.request_id) == ["r3", "r4", "r5"])
        try second.record(model: "petr", requestID: "r6", attempt: 1, kind: "crash", message: "exit 139", traceback: String(repeating: "x", count: 40_000) + "END")
        let third = FailureLog(stateDir: state, limit: 3)
        #expect(third.recent.map(\.request_id) == ["r4", "r5", "r6"])
        #expect(third.recent.last?.traceback?.hasSuffix("END") == true)
        #expect((third.recent.last?.traceback?.count ?? 0) <= FailureLog.tracebackLimit)
        let mode = try FileManager.default.attributesOfItem(atPath: first.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func logFileRotatesAndTailSpansBothFiles() throws {
        let dir = try TestSupport.temporaryDirectory("logfile")
        let log = try LogFile(path: dir + "/podagent.log", maxBytes: 1000)
        for index in 0..<60 { log.append(Data("line \(index) ".utf8) + Data(repeating: UInt8(ascii: "."), count: 40)) }
        #expect(FileManager.default.fileExists(atPath: dir + "/podagent.log.1"))
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/podagent.log")[.size] as? Int ?? 0
        #expect(size < 1000 + 64)
        let tail = try #require(LogFile.tail(path: dir + "/podagent.log", lines: 25))
        let lines = tail.split(separator: "\n")
        #expect(lines.count == 25)
        #expect(lines.last?.hasPrefix("line 59 ") == true)
        #expect(LogFile.resolve(configured: nil, stateDir: "/s") == "/s/podagent.log")
        #expect(LogFile.resolve(configured: "off", stateDir: "/s") == nil)
    }

    @Test func redactorNamesSecretsButNotTheirLocations() {
        for key in ["PODAGENT_TOKEN", "api.token", "db_password", "HF_SECRET", "MY_API_KEY", "ssh.authorizedKeys"] {
            #expect(Redactor.isSecret(key: key), "\(key) should be redacted")
        }
        for key in ["PODAGENT_TOKEN_FILE", "api.token_file", "ssh.keygenPath", "ssh.authorizedKeysDir", "http.port", "PATH"] {
            #expect(!Redactor.isSecret(key: key), "\(key) should be kept")
        }
        var redactor = Redactor()
        redactor.add(secret: "hunter2-long")
        redactor.add(secret: "ab")  // too short to scrub blindly
        let yaml = redactor.redactYAML("api:\n  token: abc\n  password: \"x y\"\nnote: said hunter2-long once\nlevel: ab\n")
        #expect(yaml == "api:\n  token: <redacted>\n  password: <redacted>\nnote: said <redacted> once\nlevel: ab\n")
    }
}
