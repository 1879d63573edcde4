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
import PodAgentExtras
import MiniYAML

/// `podagent diagnose`: a tar.gz for a bug report with the log tail, the configuration (secrets
/// redacted), versions, manifests, the GPU report and recent failures.
public struct DiagnosticsBundle: Sendable {
    let loader: ConfigLoader
    let runner: CommandRunner
    let probe: any GPUProbe
    /// How many log lines to include.
    public var logLines = 2000

    public init(loader: ConfigLoader, runner: CommandRunner, probe: any GPUProbe) {
        self.loader = loader
        self.runner = runner
        self.probe = probe
    }

    /// The default output name: `podagent-diagnose-<UTC time>.tar.gz` in the current directory.
    public static func defaultOutput(now: Date = Date()) -> String {
        "podagent-diagnose-\(Timestamp.compact(now)).tar.gz"
    }

    /// Collects everything and writes the bundle to `output` whole or not at all (temporary file, fsync, rename).
    /// - Returns: the paths inside the bundle.
    /// - Throws: ``AgentError`` when the staging directory, `tar` or the final rename fails.
    @discardableResult
    public func write(to output: String) async throws(AgentError) -> [String] {
        let name = URL(fileURLWithPath: output).lastPathComponent.replacingLiteral(".tar.gz", with: "").replacingLiteral(".tgz", with: "")
        let staging = temporaryDirectory() + "podagent-diagnose-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let root = staging + "/" + (name.isEmpty ? "podagent-diagnose" : name)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AgentError(.system, "cannot create the staging directory \(root): \(errorText(error))")
        }
        let files = try await collect(into: root)
        let temporary = "\(output).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let tar: CommandRunner.Output
        do {
            tar = try await runner.run(
                ProcessSpec(executable: "tar", arguments: ["-czf", temporary, "-C", staging, URL(fileURLWithPath: root).lastPathComponent]),
                timeout: .seconds(120))
        } catch {
            unlink(temporary)
            throw error
        }
        guard tar.status.succeeded else {
            unlink(temporary)
            throw AgentError(.system, "tar \(tar.status): \(tar.stderr.trimmingSpace())")
        }
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        let synced = fd >= 0 && fsync(fd) == 0
        if fd >= 0 { close(fd) }
        guard synced, rename(temporary, output) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AgentError(.system, "\(output): cannot write the bundle: \(reason)")
        }
        return files
    }

    /// Writes each part under `root`; a part that cannot be collected is described in `summary.txt` instead.
    func collect(into root: String) async throws(AgentError) -> [String] {
        var notes: [String] = []
        let environment = loader.environment
        var config = AgentConfig()
        do { config = try loader.load() } catch { notes.append("configuration: \(error.message) (defaults shown)") }
        let stateDir = (try? StateDirectory.resolve(configured: config.stateDir).path) ?? config.stateDir ?? "?"

        var redactor = Redactor()
        let configFile = loader.file ?? (FileManager.default.fileExists(atPath: ConfigLoader.defaultFile) ? ConfigLoader.defaultFile : nil)
        let configText = configFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
        for (key, value) in environment where Redactor.isSecret(key: key) { redactor.add(secret: value) }
        for (key, value) in Self.yamlScalars(configText ?? "") where Redactor.isSecret(key: key) { redactor.add(secret: value) }
        // The token file's content is the token itself.
        let tokenFiles = [environment["PODAGENT_TOKEN_FILE"], Self.yamlScalars(configText ?? "").first { $0.key == "api.token_file" }?.value]
        for case let path? in tokenFiles {
            if let token = try? String(contentsOfFile: path, encoding: .utf8) { redactor.add(secret: token) }
        }

        var files: [String: String] = [:]
        files["config.txt"] = "# the effective configuration (defaults < YAML < environment < flags); secrets redacted\n"
            + redactor.dump(config).joined(separator: "\n") + "\n"
        if let configFile {
            files["config-file.yaml"] = configText.map { "# \(configFile), secrets redacted\n" + redactor.redactYAML($0) } ?? "# \(configFile): unreadable\n"
        }
        let shown = environment.filter { key, _ in
            ["PODAGENT_", "CUDA_", "NVIDIA_", "RUNPOD_", "PYTHON", "LD_LIBRARY_PATH", "PATH", "HOSTNAME"].contains { key.hasPrefix($0) }
        }
        files["environment.txt"] = redactor.redactEnvironment(shown)
        files["versions.txt"] = await versions()
        let logPath = LogFile.resolve(configured: config.log.file, stateDir: stateDir)
        if let logPath, let tail = LogFile.tail(path: logPath, lines: logLines) {
            files["log-tail.txt"] = redactor.scrub(tail)
        } else {
            notes.append("log tail: \(logPath.map { "\($0) does not exist yet" } ?? "log.file is off")")
        }
        files["gpu.json"] = redactor.scrub(CommandJSON.string(GPUListing(report: await probe.read())) + "\n")
        let failures = FailureLog.read(path: stateDir + "/" + FailureLog.fileName)
        files["failures.jsonl"] = redactor.scrub(failures.map { CommandJSON.compact($0) + "\n" }.joined())
        for manifest in Self.manifests(in: config.pluginsDir) {
            if let text = try? String(contentsOfFile: manifest.path, encoding: .utf8) {
                files["manifests/\(manifest.model)/plugin.yaml"] = redactor.redactYAML(text)
            }
        }
        files["summary.txt"] = """
            podagent diagnose, \(Timestamp.seconds())
            state_dir: \(stateDir)
            plugins_dir: \(config.pluginsDir)
            log file: \(logPath ?? "off")
            failures kept: \(failures.count)
            secrets: values of keys containing \(Redactor.secretWords.joined(separator: "/")) and the API token are replaced by \(Redactor.placeholder)
            \(notes.isEmpty ? "" : "notes:\n" + notes.map { "- \($0)" }.joined(separator: "\n"))

            """
        for (relative, text) in files {
            let path = root + "/" + relative
            do {
                try FileManager.default.createDirectory(atPath: PathNames.deletingLastComponent(path), withIntermediateDirectories: true)
            } catch {
                throw AgentError(.system, "cannot create \(path): \(errorText(error))")
            }
            try AgentError.writing(AtomicFile.write(redactor.scrub(text), to: path, mode: 0o600))
        }
        return files.keys.sorted()
    }

    /// Versions of podagent, the OS, Python, sshd and the NVIDIA driver; each line says when one cannot be read.
    func versions() async -> String {
        var lines = ["podagent: \(PodAgentVersion.current)"]
        let osRelease = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        let pretty = osRelease.split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
        lines.append("os: \(pretty.map { $0.dropFirst("PRETTY_NAME=".count).trimming(charactersIn: "\"") } ?? "unknown")")
        lines.append("kernel: \(await command("uname", ["-srvm"]))")
        lines.append("python3: \(await command("python3", ["--version"]))")
        lines.append("sshd: \(await command("sshd", ["-V"], fallback: ("ssh", ["-V"])))")
        let driver = (try? String(contentsOfFile: "/proc/driver/nvidia/version", encoding: .utf8))?.split(separator: "\n").first.map(String.init)
        lines.append("nvidia driver: \(driver ?? "no /proc/driver/nvidia/version")")
        lines.append("nvidia-smi: \(await command("nvidia-smi", ["--query-gpu=driver_version,name", "--format=csv,noheader"]))")
        return lines.joined(separator: "\n") + "\n"
    }

    private func command(_ executable: String, _ arguments: [String], fallback: (String, [String])? = nil) async -> String {
        var spec = ProcessSpec(executable: executable, arguments: arguments)
        if executable == "sshd" {
            // sshd lives in sbin, often not on a user's PATH.
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            spec.environment = ProcessInfo.processInfo.environment.merging(["PATH": path + ":/usr/sbin:/sbin"]) { $1 }
        }
        if let output = try? await runner.run(spec, timeout: .seconds(10)) {
            let text = (output.stdout + output.stderr).trimmingSpace()
            let first = text.split(separator: "\n").first.map(String.init) ?? ""
            // `sshd -V` is missing from older OpenSSH: it prints usage and exits non-zero.
            if output.status.succeeded || (first.hasPrefix("OpenSSH") && executable != "ssh") { return first.isEmpty ? "(no output)" : first }
            if let fallback { return await command(fallback.0, fallback.1) }
            return "unavailable: \(output.status): \(first)"
        }
        if let fallback { return await command(fallback.0, fallback.1) }
        return "unavailable: \(executable) not found or did not answer"
    }

    /// Every manifest in the plugins directory, by model folder.
    static func manifests(in pluginsDir: String) -> [(model: String, path: String)] {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: pluginsDir)) ?? []
        return folders.sorted().compactMap { folder in
            let path = "\(pluginsDir)/\(folder)/plugin.yaml"
            return FileManager.default.fileExists(atPath: path) ? (folder, path) : nil
        }
    }

    /// The scalar values of a YAML text by dotted key (nothing when it does not parse).
    static func yamlScalars(_ text: String) -> [(key: String, value: String)] {
        guard let node = try? YAMLParser.parse(text) else { return [] }
        var result: [(String, String)] = []
        func walk(_ node: YAMLNode, _ prefix: String) {
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    let name = key.string ?? "?"
                    walk(value, prefix.isEmpty ? name : "\(prefix).\(name)")
                }
            case .sequence(let sequence, _):
                for item in sequence { walk(item, prefix) }
            case .scalar(let scalar):
                result.append((prefix, scalar.string))
            }
        }
        walk(node, "")
        return result
    }
}

extension CommandJSON {
    /// One line of JSON.
    static func compact<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
