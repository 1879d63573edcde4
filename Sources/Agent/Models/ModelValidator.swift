#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Plugins
import PodAgentExtras

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

    /// `runtime/podagent_gpu.py`: what the worker checks at load, run for `validate`.
    let gpuProbe: String
    /// The user model workers run as (nil: podagent's own): the config and checkpoint must be readable by it.
    let workerIdentity: ProcessIdentity?

    public init(
        runner: CommandRunner, pluginsDir: String, python: String = "python3", timeout: Duration = .seconds(600),
        workerIdentity: ProcessIdentity? = nil
    ) {
        self.runner = runner
        self.configReader = "\(pluginsDir)/read_config.py"
        self.gpuProbe = "\(pluginsDir)/runtime/podagent_gpu.py"
        self.python = python
        self.timeout = timeout
        self.workerIdentity = workerIdentity
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
        let configPath = config ?? manifest.config
        let checkpointPath = checkpoint ?? "\(checkpointsDir)/\(manifest.checkpoint.file)"
        var problems = await configProblems(manifest: manifest, path: configPath)
        problems += await checkpointProblems(manifest: manifest, path: checkpointPath)
        if problems.isEmpty {
            problems += await workerAccessProblems([("config", configPath), ("checkpoint", checkpointPath)])
        }
        return problems
    }

    /// Files the workers' user cannot read, checked as that user (a child started as it runs `test -r`):
    /// podagent reads them as root, the model worker does not.
    func workerAccessProblems(_ files: [(what: String, path: String)]) async -> [String] {
        guard let identity = workerIdentity else { return [] }
        var problems: [String] = []
        for (what, path) in files {
            let spec = ProcessSpec(executable: "/bin/sh", arguments: ["-c", "test -r \"$1\"", "sh", path], identity: identity)
            do {
                let output = try await runner.run(spec, timeout: .seconds(30))
                if !output.status.succeeded {
                    problems.append("\(what) \(path) is not readable by \(identity), the user model workers run as (inference.user; docs/inference.md): make it and its folders readable to that user")
                }
            } catch {
                problems.append("cannot check whether \(identity) can read \(what) \(path): \(error.message)")
            }
        }
        return problems
    }

    /// What `podagent validate` says about the GPUs: the same check the worker makes before loading
    /// (Plugins/runtime/podagent_gpu.py: each visible GPU's compute capability against torch's arch
    /// list and the manifest's declared architectures). Problems make validate fail; notes do not.
    public func gpuReport(manifest: PluginManifest) async -> (problems: [String], notes: [String]) {
        guard !manifest.isSynthetic else { return ([], []) }
        var environment = ProcessInfo.processInfo.environment
        if let declared = manifest.environment?.declaredArchitectures {
            environment["PODAGENT_CUDA_ARCHITECTURES"] = WorkerLaunchPlan.architecturesJSON(declared)
        }
        let output: CommandRunner.Output
        do {
            output = try await runner.run(ProcessSpec(executable: python, arguments: [gpuProbe], environment: environment), timeout: .seconds(120))
        } catch {
            return (["cannot check the GPU: \(error.message)"], [])
        }
        guard output.status.succeeded, let report = try? JSONReader.parse(output.stdout, source: "podagent_gpu.py output") else {
            let detail = output.stderr.trimmingSpace()
            return (["cannot check the GPU: \(gpuProbe) \(output.status)\(detail.isEmpty ? "" : ": \(detail.suffix(500))")"], [])
        }
        if let error = report["error"]?.stringValue {
            return (["cannot check the GPU: \(error) (the check imports torch, as the worker does)"], [])
        }
        let devices = report["devices"]?.arrayValue ?? []
        let torch = report["torch"]?.stringValue ?? "?"
        guard !devices.isEmpty else {
            return ([], ["no GPU visible to torch \(torch): nothing to compare (the worker makes the same check when it loads)"])
        }
        var problems: [String] = []
        var notes: [String] = []
        for device in devices {
            if let reason = device["reason"]?.stringValue {
                problems.append(reason)
            } else {
                let index = device["index"]?.numberValue.map { String(Int($0)) } ?? "?"
                notes.append("GPU \(index) \(device["name"]?.stringValue ?? "?") (\(device["sm"]?.stringValue ?? "?")): this image's torch \(torch) and compiled code run on it")
            }
        }
        return (problems, notes)
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
            let reason = output.stderr.trimmingSpace()
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
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return ["checkpoint \(path) does not exist"] }
        guard !isDirectory else { return ["checkpoint \(path) is a directory"] }
        guard FileManager.default.isReadableFile(atPath: path) else { return ["checkpoint \(path) is not readable"] }
        var info = stat()
        let size = stat(path, &info) == 0 ? Int64(info.st_size) : 0
        guard size > 0 else { return ["checkpoint \(path) is empty"] }
        guard let expected = manifest.checkpoint.sha256 else { return [] }
        do {
            let output = try await runner.run(ProcessSpec(executable: "sha256sum", arguments: ["--", path]), timeout: timeout)
            guard output.status.succeeded, let digest = output.stdout.split(separator: " ").first.map(String.init)?.lowercased() else {
                return ["checkpoint \(path): sha256sum \(output.status): \(output.stderr.trimmingSpace())"]
            }
            if digest.hasPrefix("\\") { return ["checkpoint \(path): cannot digest a path with special characters"] }
            return digest == expected ? [] : ["checkpoint \(path) has sha256 \(digest), the manifest expects \(expected)"]
        } catch {
            return ["checkpoint \(path): \(error.message)"]
        }
    }
}
