import Foundation
import Testing

@testable import Agent

/// Which Python workers get when `inference.python` is not set: the first `python3` on PATH that the
/// workers' user (`nobody` here: the tests run as root) can run, checked with that user's ids on the real
/// file system; a configured one is used as given.
@Suite("The workers' Python")
struct InferencePythonTests {
    /// A folder only root may enter (0700, like /root with a pyenv in it) holding a `python3`.
    static func rootOnlyPython() throws -> String {
        let dir = try TestSupport.temporaryDirectory("root-only-python")
        chmod(dir, 0o700)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/python3", withDestinationPath: "/usr/bin/python3")
        return dir
    }

    static var nobody: ProcessIdentity {
        get throws { try #require(ProcessIdentity.lookup("nobody")) }
    }

    @Test func aPythonTheWorkersUserCannotReachIsSkipped() throws {
        let hidden = try Self.rootOnlyPython()
        let nobody = try Self.nobody
        // Root may run it (access(2) says yes): the check has to be nobody's.
        #expect(access("\(hidden)/python3", X_OK) == 0)
        #expect(!InferencePython.canExecute("\(hidden)/python3", as: nobody))
        #expect(InferencePython.canExecute("/usr/bin/python3", as: nobody))
        let chosen = try InferencePython.resolve(configured: nil, searchPath: "\(hidden):/usr/bin:/bin", identity: nobody)
        #expect(chosen == "/usr/bin/python3")
        // Workers that run as podagent's own user keep `python3` (found by exec as before).
        #expect(try InferencePython.resolve(configured: nil, searchPath: "\(hidden):/usr/bin", identity: nil) == "python3")
    }

    @Test func noneUsableNamesTheCandidatesAndTheSetting() throws {
        let hidden = try Self.rootOnlyPython()
        let nobody = try Self.nobody
        do {
            let chosen = try InferencePython.resolve(configured: nil, searchPath: "\(hidden):/nonexistent", identity: nobody)
            Issue.record("chose \(chosen)")
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.message.contains("tried \(hidden)/python3"), "\(error.message)")
            #expect(error.message.contains("inference.python") && error.message.contains("PODAGENT_INFERENCE_PYTHON"), "\(error.message)")
        }
    }

    @Test func aConfiguredPythonIsUsedAsGiven() throws {
        let hidden = try Self.rootOnlyPython()
        let chosen = try InferencePython.resolve(configured: "\(hidden)/python3", searchPath: "/usr/bin", identity: try Self.nobody)
        #expect(chosen == "\(hidden)/python3")
    }

    /// Through the engine: a real Demo worker started as nobody with the root-only python3 first on PATH.
    @Test func theDemoWorkerStartsWithTheFirstPythonItsUserCanRun() async throws {
        try #require(geteuid() == 0, "workers switch to nobody only when podagent is root")
        let hidden = try Self.rootOnlyPython()
        let (engine, _, _) = try InferenceTestSupport.engine(environment: ["PATH": "\(hidden):/usr/bin:/bin"]) { config in
            config.inference.python = nil
        }
        let status = try await engine.load("Demo", overrides: ModelOverrides())
        #expect(status.isReady, "\(status.reason ?? "")")
        let pid = try #require(status.instances.first?.pid)
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
        let expected = try #require(realpath("/usr/bin/python3", nil))
        defer { free(expected) }
        #expect(exe == String(cString: expected))
        await engine.shutdown()

        // Configured, it is never second-guessed: the root-only one is used and fails as before.
        let (configured, _, _) = try InferenceTestSupport.engine(environment: ["PATH": "/usr/bin:/bin"]) { config in
            config.inference.python = "\(hidden)/python3"
        }
        let failure = await InferenceTestSupport.failure { () throws(AgentError) in _ = try await configured.load("Demo", overrides: ModelOverrides()) }
        #expect(failure != nil)
        let message = failure?.message ?? ""
        #expect(message.contains("\(hidden)/python3: Permission denied") && message.contains("cannot start as nobody"), "\(message)")
        #expect(!message.contains("tried"), "\(message)")
        await configured.shutdown()
    }
}
