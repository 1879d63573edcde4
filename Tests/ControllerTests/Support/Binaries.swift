import Foundation

/// The package's own executables, as built next to the test runner, and the repository they come from.
enum Binaries {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ name: String) -> String {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: runner) ? runner : repoRoot.appendingPathComponent(".build/debug/\(name)").path
    }

    static var podctl: String { path("podctl") }
}
