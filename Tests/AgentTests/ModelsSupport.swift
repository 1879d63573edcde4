import Foundation
import Logging

@testable import Agent

/// Shared pieces of the model-plugin tests (named apart from other suites' helpers).
enum ModelsTestSupport {
    /// Waits only for its own children, so it never steals exits from other code in the runner.
    static let supervisor: Supervisor = {
        let supervisor = Supervisor(reaping: .registeredOnly, logger: Logger(label: "models-test-supervisor"))
        supervisor.start()
        return supervisor
    }()

    static var runner: CommandRunner { CommandRunner(supervisor: supervisor) }

    static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var pluginsDir: String { repositoryRoot + "/Plugins" }
    static var fixtures: String { repositoryRoot + "/Tests/PluginsTests/Fixtures" }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "podagent-models-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The built podagent binary (PODAGENT_BIN overrides), next to the test bundle or in .build/debug.
    static var podagentBinary: String {
        if let path = ProcessInfo.processInfo.environment["PODAGENT_BIN"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("podagent").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return repositoryRoot + "/.build/debug/podagent"
    }

    /// This process's environment without any PODAGENT_* a developer may have set.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PODAGENT_") }
        environment.merge(extra) { $1 }
        return environment
    }

    /// Runs python3 with `arguments` through the CommandRunner.
    static func python(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandRunner.Output {
        try await runner.run(ProcessSpec(executable: "python3", arguments: arguments), timeout: timeout)
    }
}

/// No GPU exists on the test machines; the model routes do not read it.
struct NoGPUForModelTests: GPUProbe {
    func read() async -> GPUReport { .unavailable("no GPU in this test (fake probe)") }
}
