import Foundation
import Plugins

/// The checks before inference (`podagent validate`, and at start for each enabled model): the config
/// exists and its literal assignments agree with the manifest; the checkpoint exists, is readable and
/// non-empty, and matches the manifest's sha256 when it has one.
///
/// python3 (for the config's `ast`) and sha256sum run through the ``CommandRunner``, so the
/// ``Supervisor`` stays the only reaper.
public struct ModelValidator: Sendable {
    let runner: CommandRunner
    /// `read_config.py` (shipped in the plugins directory).
    let configReader: String
    let python: String
    let timeout: Duration

    public init(runner: CommandRunner, pluginsDir: String, python: String = "python3", timeout: Duration = .seconds(600)) {
        self.runner = runner
        self.configReader = "\(pluginsDir)/read_config.py"
        self.python = python
        self.timeout = timeout
    }

    /// Every problem found, one sentence each; empty when all is well.
    /// - Parameters:
    ///   - config: the model config to read; nil uses the manifest's path.
    ///   - checkpoint: the checkpoint file; nil uses `checkpointsDir/<manifest's file>`.
    public func problems(manifest: PluginManifest, config: String? = nil, checkpoint: String? = nil, checkpointsDir: String) async -> [String] {
        if manifest.isSynthetic {
            // A synthetic model (Demo) declares no config or checkpoint; only files named explicitly are checked.
            return [config.map { ("config", $0) }, checkpoint.map { ("checkpoint", $0) }].compactMap { entry in
                guard let (what, path) = entry, !FileManager.default.fileExists(atPath: path) else { return nil }
                return "\(what) \(path) does not exist"
            }
        }
        var problems = await configProblems(manifest: manifest, path: config ?? manifest.config)
        problems += await checkpointProblems(manifest: manifest, path: checkpoint ?? "\(checkpointsDir)/\(manifest.checkpoint.file)")
        return problems
    }

    func configProblems(manifest: PluginManifest, path: String) async -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return ["config \(path) does not exist"] }
        guard FileManager.default.isReadableFile(atPath: path) else { return ["config \(path) is not readable"] }
        guard path.hasSuffix(".py") else { return ["config \(path) is not a Python config (.py)"] }
        let output: CommandRunner.Output
        do {
            output = try await runner.run(ProcessSpec(executable: python, arguments: [configReader, path]), timeout: .seconds(60))
        } catch {
            return ["cannot read config \(path): \(error.message)"]
        }
        guard output.status.succeeded else {
            let reason = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return [reason.isEmpty ? "config \(path): the config reader \(output.status)" : reason]
        }
        do {
            let literals = try JSONReader.parse(output.stdout, source: "read_config.py output")
            return try ConfigCheck.problems(manifest: manifest, literals: literals, configPath: path)
        } catch {
            return ["config \(path): \(error.message)"]
        }
    }

    func checkpointProblems(manifest: PluginManifest, path: String) async -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return ["checkpoint \(path) does not exist"] }
        guard !isDirectory.boolValue else { return ["checkpoint \(path) is a directory"] }
        guard FileManager.default.isReadableFile(atPath: path) else { return ["checkpoint \(path) is not readable"] }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        guard size > 0 else { return ["checkpoint \(path) is empty"] }
        guard let expected = manifest.checkpoint.sha256 else { return [] }
        do {
            let output = try await runner.run(ProcessSpec(executable: "sha256sum", arguments: ["--", path]), timeout: timeout)
            guard output.status.succeeded, let digest = output.stdout.split(separator: " ").first.map(String.init)?.lowercased() else {
                return ["checkpoint \(path): sha256sum \(output.status): \(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"]
            }
            if digest.hasPrefix("\\") { return ["checkpoint \(path): cannot digest a path with special characters"] }
            return digest == expected ? [] : ["checkpoint \(path) has sha256 \(digest), the manifest expects \(expected)"]
        } catch {
            return ["checkpoint \(path): \(error.message)"]
        }
    }
}
