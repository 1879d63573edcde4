import Foundation

@testable import Agent

/// The model-plugin tests' paths and python runner, on top of the shared ``TestSupport``.
enum ModelsTestSupport {
    static var runner: CommandRunner { CommandRunner(supervisor: TestSupport.supervisor) }
    static var repositoryRoot: String { TestSupport.repoRoot.path }
    static var pluginsDir: String { repositoryRoot + "/Plugins" }
    static var fixtures: String { repositoryRoot + "/Tests/PluginsTests/Fixtures" }
    static var podagentBinary: String { TestSupport.podagentBinary }

    static func temporaryDirectory(_ name: String) throws -> String {
        try TestSupport.temporaryDirectory("models-\(name)")
    }

    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        TestSupport.environment(extra)
    }

    /// Runs python3 with `arguments` through the CommandRunner.
    static func python(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandRunner.Output {
        try await runner.run(ProcessSpec(executable: "python3", arguments: arguments), timeout: timeout)
    }
}

/// No GPU exists on the test machines; the model routes do not read it.
typealias NoGPUForModelTests = FakeGPUProbe

extension FakeGPUProbe {
    init() { self.init(report: .unavailable("no GPU in this test (fake probe)")) }
}
