import Foundation
import Synchronization
import Testing

@testable import Agent

@Suite("Configuration layers")
struct ConfigTests {
    static func file(_ text: String) throws -> String {
        let path = try TestSupport.temporaryDirectory("config") + "/podagent.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func error(_ loader: ConfigLoader) -> AgentError? {
        do {
            _ = try loader.load()
            return nil
        } catch {
            return error
        }
    }

    @Test func embeddedDefaults() throws {
        let config = try ConfigLoader(file: nil, environment: [:]).load()
        #expect(config.http.host == "0.0.0.0")
        #expect(config.http.port == 8080)
        #expect(config.log.level == .info)
        #expect(config.log.format == .text)
        #expect(config.stateDir == nil)
    }

    @Test func eachLayerOverridesTheOneBelow() throws {
        let path = try Self.file("""
            http:
              host: 127.0.0.2
              port: 9000
            log:
              level: debug
              format: text
            state_dir: /tmp/from-file
            """)
        let fileOnly = try ConfigLoader(file: path, environment: [:]).load()
        #expect(fileOnly.http.port == 9000)
        #expect(fileOnly.http.host == "127.0.0.2")
        #expect(fileOnly.log.level == .debug)
        #expect(fileOnly.stateDir == "/tmp/from-file")

        let environment = ["PODAGENT_HTTP_PORT": "9100", "PODAGENT_LOG_FORMAT": "json", "PODAGENT_STATE_DIR": "/tmp/from-env"]
        let withEnvironment = try ConfigLoader(file: path, environment: environment).load()
        #expect(withEnvironment.http.port == 9100)
        #expect(withEnvironment.log.format == .json)
        #expect(withEnvironment.log.level == .debug)  // untouched by the environment
        #expect(withEnvironment.stateDir == "/tmp/from-env")

        let withFlags = try ConfigLoader(file: path, environment: environment, flags: ["http.port": .scalar("9200")]).load()
        #expect(withFlags.http.port == 9200)
        #expect(withFlags.http.host == "127.0.0.2")
        #expect(withFlags.stateDir == "/tmp/from-env")
    }

    @Test func emptyFileKeepsDefaults() throws {
        let config = try ConfigLoader(file: try Self.file(""), environment: [:]).load()
        #expect(config == AgentConfig())
    }

    @Test func badValueInFileNamesFileLineAndKey() throws {
        let path = try Self.file("http:\n  port: 70000\n")
        let error = try #require(Self.error(ConfigLoader(file: path, environment: [:])))
        #expect(error.code == .invalidConfig)
        #expect(error.programExit.rawValue == 2)
        #expect(error.message.contains(path))
        #expect(error.message.contains("line 2"))
        #expect(error.message.contains("'http.port'"))
        #expect(error.message.contains("out of range"))
    }

    @Test func unknownKeyIsNamed() throws {
        let path = try Self.file("http:\n  prot: 80\n")
        let error = try #require(Self.error(ConfigLoader(file: path, environment: [:])))
        #expect(error.message.contains("unknown key 'http.prot'"))
        #expect(error.message.contains(path))
    }

    @Test func malformedYAMLNamesTheFile() throws {
        let path = try Self.file("http: [unclosed\n")
        let error = try #require(Self.error(ConfigLoader(file: path, environment: [:])))
        #expect(error.message.contains(path))
        #expect(error.message.contains("not valid YAML"))
    }

    @Test("http.threads sizes the event loop group: 2 by default, 1 to 64, from the file or the environment")
    func httpThreads() throws {
        #expect(try ConfigLoader(file: nil, environment: [:]).load().http.threads == 2)
        #expect(try ConfigLoader(file: try Self.file("http:\n  threads: 1\n"), environment: [:]).load().http.threads == 1)
        #expect(try ConfigLoader(file: nil, environment: ["PODAGENT_HTTP_THREADS": "64"]).load().http.threads == 64)
        for bad in ["0", "65", "two"] {
            let error = try #require(Self.error(ConfigLoader(file: nil, environment: ["PODAGENT_HTTP_THREADS": bad])))
            #expect(error.message.contains("'http.threads'"), "\(error.message)")
        }
    }

    @Test("a key given twice in the config file is an error naming its line (the YAML reader refuses it)")
    func repeatedKeyIsAnError() throws {
        let path = try Self.file("http:\n  port: 9000\n  port: 9001\n")
        let error = try #require(Self.error(ConfigLoader(file: path, environment: [:])))
        #expect(error.message.contains(path) && error.message.contains("line 3") && error.message.contains("'port' appears twice"), "\(error.message)")
    }

    @Test func topLevelMustBeAMapping() throws {
        let path = try Self.file("- a\n- b\n")
        let error = try #require(Self.error(ConfigLoader(file: path, environment: [:])))
        #expect(error.message.contains("top level must be a mapping"))
    }

    @Test func missingExplicitFileIsAnError() throws {
        let error = try #require(Self.error(ConfigLoader(file: "/nonexistent/podagent.yaml", environment: [:])))
        #expect(error.message.contains("/nonexistent/podagent.yaml"))
        #expect(error.message.contains("cannot read"))
    }

    @Test(arguments: [
        ("PODAGENT_HTTP_PORT", "eighty", "'http.port'"),
        ("PODAGENT_LOG_LEVEL", "loud", "'log.level'"),
        ("PODAGENT_LOG_FORMAT", "xml", "'log.format'"),
        ("PODAGENT_HTTP_HOST", "", "'http.host'"),
        ("PODAGENT_GPU_PROBE_TIMEOUT", "-1", "'gpu.probe_timeout'"),
    ])
    func badEnvironmentValueNamesTheVariable(variable: String, value: String, key: String) throws {
        let error = try #require(Self.error(ConfigLoader(file: nil, environment: [variable: value])))
        #expect(error.message.contains("environment variable \(variable)"))
        #expect(error.message.contains(key))
    }

    @Test func badFlagIsNamed() throws {
        let error = try #require(Self.error(ConfigLoader(file: nil, environment: [:], flags: ["log.format": .scalar("yaml")])))
        #expect(error.message.contains("command-line flag"))
        #expect(error.message.contains("'log.format'"))
    }

    @Test func unknownPodagentVariablesAreListed() {
        let loader = ConfigLoader(file: nil, environment: ["PODAGENT_HTTP_PROT": "1", "PODAGENT_HTTP_PORT": "2", "HOME": "/root"])
        #expect(loader.unknownEnvironment == ["PODAGENT_HTTP_PROT"])
    }

    @Test func invalidConfigStopsTheBinaryWithExitCode2() async throws {
        let path = try Self.file("log:\n  level: shouting\n")
        let output = try await CommandRunner(supervisor: TestSupport.supervisor).run(
            ProcessSpec(executable: TestSupport.podagentBinary, arguments: ["run", "--config", path], environment: TestSupport.environment()),
            timeout: .seconds(30))
        #expect(output.status == .exited(2))
        #expect(output.stderr.contains(path))
        #expect(output.stderr.contains("'log.level'"))
        #expect(output.stderr.contains("line 2"))
        // Reported once: the one load's error, not a second load's too.
        #expect(output.stderr.components(separatedBy: "'log.level'").count == 2, "\(output.stderr)")
    }

    @Test("podagent run opens its config file once at start (inotify counts the opens through the real binary)")
    func runReadsTheConfigFileOnce() async throws {
        let path = try Self.file("http:\n  threads: 3\n")
        let opens = try FileOpenCounter(path: path)
        defer { opens.close() }
        let agent = try await AgentProcess.start(arguments: ["--config", path])
        // Every read at start happens before the "listening" line (the server binds after loading);
        // inotify queued each open as it happened.
        let atStart = try opens.count()
        _ = await agent.stop()
        #expect(atStart == 1, "podagent opened \(path) \(atStart) times before listening")
        // The counter sees a read: this test's own.
        _ = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try opens.count() == atStart + 1)
    }
}

/// Counts the opens of one file with inotify (IN_OPEN), whoever opens it.
final class FileOpenCounter: Sendable {
    private let descriptor: Int32
    private let total = Mutex(0)

    init(path: String) throws {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw AgentError(.unavailable, "inotify_init1: \(String(cString: strerror(errno)))") }
        // Closes too: inotify merges an event identical to the one queued last, so two opens with
        // nothing between them would count as one.
        guard inotify_add_watch(descriptor, path, UInt32(IN_OPEN | IN_CLOSE)) >= 0 else {
            let problem = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw AgentError(.unavailable, "inotify_add_watch \(path): \(problem)")
        }
    }

    /// The opens seen so far (drains the queued events).
    func count() throws -> Int {
        try total.withLock { total in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if got < 0 {
                    if errno == EAGAIN { return total }
                    throw AgentError(.unavailable, "reading inotify events: \(String(cString: strerror(errno)))")
                }
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= got {
                    let event = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: inotify_event.self) }
                    if event.mask & UInt32(IN_OPEN) != 0 { total += 1 }
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                }
            }
        }
    }

    func close() { Glibc.close(descriptor) }
}

@Suite("State directory choice")
struct StateDirectoryTests {
    @Test func configuredDirectoryIsCreated() throws {
        let path = try TestSupport.temporaryDirectory("sd") + "/nested/state"
        let choice = try StateDirectory.resolve(configured: path)
        #expect(choice == .init(path: path, warning: nil))
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func writableWorkspaceWins() throws {
        let workspace = try TestSupport.temporaryDirectory("ws")
        let choice = try StateDirectory.resolve(configured: nil, workspace: workspace, varLib: workspace + "/varlib")
        #expect(choice.path == workspace + "/.podagent")
        #expect(choice.warning == nil)
    }

    @Test func fallsBackToVarLibThenTemporaryWithWarning() throws {
        let root = try TestSupport.temporaryDirectory("fallback")
        // A regular file where a directory is expected cannot be used, even by root.
        let blocker = root + "/file"
        try "x".write(toFile: blocker, atomically: true, encoding: .utf8)
        let varLib = root + "/varlib"
        let second = try StateDirectory.resolve(configured: nil, workspace: blocker, varLib: varLib)
        #expect(second.path == varLib)
        let third = try StateDirectory.resolve(configured: nil, workspace: blocker, varLib: blocker + "/podagent")
        #expect(third.path.hasPrefix(NSTemporaryDirectory()))
        #expect(third.warning?.contains("lost on restart") == true)
    }
}
