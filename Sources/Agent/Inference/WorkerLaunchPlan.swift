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

/// How one model's processes are started: the manifest's command with its placeholders filled in,
/// and the environment of docs/worker-protocol.md.
struct WorkerLaunchPlan: Sendable {
    let manifest: PluginManifest
    /// The plugins directory (its `runtime/` holds podagent_worker.py).
    let pluginsDir: String
    /// `inference.python`: replaces a leading `python3`/`python`; nil finds one (``InferencePython``).
    let python: String?
    /// The config and checkpoint this generation of workers loads.
    let config: String
    let checkpoint: String

    /// The folder holding the manifest.
    var pluginDir: String { PathNames.deletingLastComponent(manifest.sourcePath) }
    var runtimeDir: String { "\(pluginsDir)/runtime" }

    /// The command with `{plugin_dir}`, `{runtime_dir}`, `{config}`, `{checkpoint}` (and, for oneshot
    /// runs, `{input}`/`{output}`) substituted.
    /// - Parameters:
    ///   - searchPath: the workers' PATH; `identity`: their user (nil: podagent's own). Both pick the Python.
    /// - Throws: ``AgentError`` when no Python the workers' user can run is found.
    func command(input: String? = nil, output: String? = nil, searchPath: String?,
                 identity: ProcessIdentity?) throws(AgentError) -> (executable: String, arguments: [String]) {
        var values = ["{plugin_dir}": pluginDir, "{runtime_dir}": runtimeDir, "{config}": config, "{checkpoint}": checkpoint]
        if let input { values["{input}"] = input }
        if let output { values["{output}"] = output }
        var words = manifest.worker.command.map { word in
            values.reduce(word) { $0.replacingLiteral($1.key, with: $1.value) }
        }
        if words.isEmpty || words[0] == "python3" || words[0] == "python" {
            let python = try InferencePython.resolve(configured: python, searchPath: searchPath, identity: identity)
            if words.isEmpty { words = [python] } else { words[0] = python }
        }
        let executable = words.removeFirst()
        return (executable, words)
    }

    /// podagent's environment minus its own PODAGENT_* settings (secrets such as the API token stay
    /// out of model code), plus the worker's.
    /// - Parameters:
    ///   - gpu: the instance's `CUDA_VISIBLE_DEVICES`; nil leaves it unset (no GPU assigned).
    func environment(base: [String: String], instance: Int, gpu: String?) -> [String: String] {
        var environment = base.filter { !$0.key.hasPrefix("PODAGENT_") }
        environment["PODAGENT_MODEL"] = manifest.name
        environment["PODAGENT_MODEL_CONFIG"] = config
        environment["PODAGENT_MODEL_CHECKPOINT"] = checkpoint
        environment["PODAGENT_DEVICE"] = gpu == nil ? "cpu" : "cuda:0"
        environment["PODAGENT_WORKER_OPTIONS"] = Self.optionsJSON(manifest.worker.options)
        if let declared = manifest.environment?.declaredArchitectures {
            // What the image's compiled code runs on: the worker compares it with its GPU before loading.
            environment["PODAGENT_CUDA_ARCHITECTURES"] = Self.architecturesJSON(declared)
        }
        environment["PODAGENT_WORKER"] = "\(manifest.name)/\(instance)"
        environment["PODAGENT_AGENT_PID"] = "\(getpid())"
        if let existing = base["PYTHONPATH"], !existing.isEmpty {
            environment["PYTHONPATH"] = "\(runtimeDir):\(existing)"
        } else {
            environment["PYTHONPATH"] = runtimeDir
        }
        if let gpu {
            environment["CUDA_VISIBLE_DEVICES"] = gpu
        } else {
            environment.removeValue(forKey: "CUDA_VISIBLE_DEVICES")
        }
        return environment
    }

    /// `{"component": ["8.0", "8.6+PTX"], ...}` for PODAGENT_CUDA_ARCHITECTURES (Plugins/runtime/podagent_gpu.py).
    static func architecturesJSON(_ declared: [String: [String]]) -> String {
        let object = JSONValue.object(declared.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .string($0) })) })
        // Names and architectures are plain strings, so writing cannot fail.
        return String(decoding: (try? JSONWriter.write(object)) ?? Array("{}".utf8), as: UTF8.self)
    }

    static func optionsJSON(_ options: [String: JSONValue]) -> String {
        // Manifest options are plain finite values, so writing cannot fail; "{}" would hide nothing real.
        let bytes = (try? JSONWriter.write(.object(options.sorted { $0.key < $1.key }))) ?? Array("{}".utf8)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Which GPU each instance of a model gets.
enum GPUPlacement {
    /// The `CUDA_VISIBLE_DEVICES` value per instance (nil: no GPU), or why the rule cannot be met.
    /// - Parameters:
    ///   - configured: the model's configured instance count.
    ///   - report: what the agent's GPU probe sees.
    static func assign(_ rule: AgentConfig.Inference.Placement, configured: Int, report: GPUReport) -> Result<[String?], AgentError> {
        let visible = report.devices.map { String($0.index) }
        switch rule {
        case .none:
            return .success(Array(repeating: nil, count: configured))
        case .auto:
            guard !visible.isEmpty else { return .success(Array(repeating: nil, count: configured)) }
            return .success((0..<configured).map { visible[$0 % visible.count] })
        case .perGPU:
            guard !visible.isEmpty else {
                return .failure(AgentError(.notReady, "placement per-gpu, but no GPU is visible (\(report.reason ?? "the probe found none"))"))
            }
            return .success(visible)
        case .gpus(let ids):
            if let missing = ids.first(where: { !visible.contains($0) }) {
                let seen = visible.isEmpty ? "none (\(report.reason ?? "the probe found none"))" : visible.joined(separator: ",")
                return .failure(AgentError(.notReady, "placement lists GPU \(missing), which is not visible (visible: \(seen))"))
            }
            return .success((0..<configured).map { ids[$0 % ids.count] })
        }
    }
}
