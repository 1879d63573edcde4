import Foundation
import TestProcesses

/// Standard results made the real way: the REAL Demo worker (Plugins/Demo/worker.py, speaking
/// docs/worker-protocol.md over stdin/stdout) emits a model's raw output, and the REAL plugin parser
/// (`podagent parse`) turns it into the standard result. Nothing here is hand-written JSON.
enum DemoResults {
    /// The parser for each raw format.
    static let parsers = ["petr": "PETR", "streampetr": "StreamPETR", "vad": "VAD", "maptr": "MapTR", "topomlp": "TopoMLP"]

    /// Runs the worker once for every (format, sample) and returns `[format: [sample: path of the standard result]]`.
    static func make(formats: [String], samples: [String], in dir: String) throws -> [String: [String: String]] {
        let plugins = Shell.repoRoot.appendingPathComponent("Plugins").path
        // `raw_format` per the contract; the worker on main before the engine's rename still calls it `format`.
        let source = (try? String(contentsOfFile: "\(plugins)/Demo/worker.py", encoding: .utf8)) ?? ""
        let formatKey = source.contains("raw_format") ? "raw_format" : "format"
        var requests: [String] = []
        for format in formats {
            for sample in samples {
                let line: [String: Any] = ["type": "infer", "id": "\(format)|\(sample)", "inputs": ["sample_id": sample],
                                           "options": [formatKey: format, "detections": 30]]
                requests.append(String(decoding: try JSONSerialization.data(withJSONObject: line), as: UTF8.self))
            }
        }
        requests.append(#"{"type": "shutdown"}"#)
        let worker = try Shell.run(["/usr/bin/python3", "\(plugins)/Demo/worker.py"],
                                  environment: Shell.environment([
                                      "PODAGENT_MODEL": "Demo", "PODAGENT_DEVICE": "cpu", "PODAGENT_WORKER_OPTIONS": "{}",
                                      "PYTHONPATH": "\(plugins)/runtime", "PODAGENT_WORKER": "Demo/0",
                                  ]), input: requests.joined(separator: "\n") + "\n", timeout: 120)
        guard worker.status == 0 else { throw FixtureError("Demo worker exited \(worker.status): \(worker.stderr.suffix(800))") }
        var made: [String: [String: String]] = [:]
        var answered = 0
        for line in worker.stdout.split(separator: "\n") {
            guard let message = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  message["type"] as? String == "result", let id = message["id"] as? String, let raw = message["raw"] else { continue }
            let parts = id.split(separator: "|").map(String.init)
            let (format, sample) = (parts[0], parts[1])
            // After the engine's change the Demo raw is {"synthetic", "format", "output"}: the model's raw is inside.
            let modelRaw = (raw as? [String: Any])?["synthetic"] != nil ? ((raw as? [String: Any])?["output"] ?? raw) : raw
            let rawPath = "\(dir)/raw-\(format)-\(sample).json"
            try JSONSerialization.data(withJSONObject: modelRaw).write(to: URL(fileURLWithPath: rawPath))
            let resultPath = "\(dir)/result-\(format)-\(sample).json"
            guard let parser = parsers[format] else { throw FixtureError("no parser for \(format)") }
            let parsed = try Shell.run([Shell.binary("podagent"), "parse", "--model", parser, "--input", rawPath, "--sample-id", sample,
                                       "--plugins-dir", plugins, "--output", resultPath], environment: Shell.environment())
            guard parsed.status == 0 else { throw FixtureError("podagent parse --model \(parser) failed: \(parsed.stderr)") }
            made[format, default: [:]][sample] = resultPath
            answered += 1
        }
        guard answered == formats.count * samples.count else {
            throw FixtureError("the Demo worker answered \(answered) of \(formats.count * samples.count) requests: \(worker.stdout.suffix(800)) \(worker.stderr.suffix(800))")
        }
        return made
    }
}
