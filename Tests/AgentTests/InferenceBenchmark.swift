import Foundation
import Plugins
import Testing

@testable import Agent

/// Not a test: the inference engine benchmark (bench/inference/run.sh), run only with PODAGENT_BENCH=1.
/// Warm engine latency against a subprocess per request with the same synthetic Demo model
/// (load_time_s 5), in the same run; and the engine's overhead on top of the worker's own compute, for
/// the worker's answer as JSON lists and as binary tensor frames, request by request alternately.
@Suite("Inference engine benchmark (PODAGENT_BENCH=1 only)")
struct InferenceBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["PODAGENT_BENCH"] == "1"

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
    }

    @Test(.enabled(if: enabled, "set PODAGENT_BENCH=1 to run the inference benchmark"))
    func warmEngineAgainstSubprocessPerRequest() async throws {
        let environment = ProcessInfo.processInfo.environment
        let requests = Int(environment["PODAGENT_BENCH_REQUESTS"] ?? "") ?? 200
        let baselineRequests = Int(environment["PODAGENT_BENCH_BASELINE_REQUESTS"] ?? "") ?? 3
        let plugins = try InferenceTestSupport.demoPlugins(options: "{load_time_s: 5}")
        let (engine, _, _) = try InferenceTestSupport.engine(pluginsDir: plugins)
        _ = try await engine.load("Demo", overrides: ModelOverrides())
        var lines: [String] = []
        var warmVADMedian = 0.0
        let sizes: [(String, [String: Any])] = [
            ("petr", ["raw_format": "petr", "detections": 300]), ("vad", ["raw_format": "vad", "detections": 100]),
            ("topomlp", ["raw_format": "topomlp"]),
        ]
        let forms = [("json", "lists"), ("binary", "numpy")]
        for (size, base) in sizes {
            func options(_ tensors: String) -> [String: Any] { base.merging(["tensors": tensors]) { $1 } }
            for index in 0..<5 {
                for (_, tensors) in forms { _ = try await engine.infer(try InferenceTestSupport.request("warmup-\(size)-\(index)", options: options(tensors))) }
            }
            var totals: [String: [Double]] = [:], overheads: [String: [Double]] = [:], parses: [String: [Double]] = [:]
            let count = size == "topomlp" ? max(requests / 5, 5) : requests
            for index in 0..<count {
                for (form, tensors) in forms {
                    let start = ContinuousClock.now
                    let outcome = try await engine.infer(try InferenceTestSupport.request("b-\(size)-\(index)", options: options(tensors)))
                    let total = (ContinuousClock.now - start).inSeconds
                    totals[form, default: []].append(total)
                    overheads[form, default: []].append(total - outcome.timings.inference_s)
                    parses[form, default: []].append(outcome.timings.parse_s)
                }
            }
            if size == "vad" { warmVADMedian = Self.percentile(totals["binary"] ?? [0], 0.5) }
            for (form, _) in forms {
                lines.append(String(
                    format: "warm engine, %@ result, %@ answer: latency median %.2f ms; overhead over the worker's compute median %.2f ms p90 %.2f ms (parse alone median %.2f ms) over %d requests",
                    size, form, Self.percentile(totals[form] ?? [0], 0.5) * 1000, Self.percentile(overheads[form] ?? [0], 0.5) * 1000,
                    Self.percentile(overheads[form] ?? [0], 0.9) * 1000, Self.percentile(parses[form] ?? [0], 0.5) * 1000, count))
            }
            lines.append(String(
                format: "%@: engine overhead JSON / binary = %.1fx (medians)", size,
                Self.percentile(overheads["json"] ?? [0], 0.5) / Self.percentile(overheads["binary"] ?? [1], 0.5)))
        }
        _ = try await engine.unload("Demo")

        let script = TestSupport.repoRoot.appendingPathComponent("bench/inference/subprocess_baseline.py").path
        let output = try await CommandRunner(supervisor: TestSupport.supervisor).run(
            ProcessSpec(executable: "python3", arguments: [script, "--requests", "\(baselineRequests)", "--load-time", "5", "--raw-format", "vad"]),
            timeout: .seconds(600))
        let baseline = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        let baselineMedian = try #require(baseline["median_s"] as? Double)
        lines.append(String(format: "subprocess per request (load_time_s 5, vad): median %.0f ms over %d requests", baselineMedian * 1000, baselineRequests))
        lines.append(String(format: "ratio: subprocess per request / warm engine (vad medians) = %.0fx", baselineMedian / warmVADMedian))
        let report = lines.joined(separator: "\n")
        print("INFERENCE BENCHMARK\n\(report)")
        if let path = environment["PODAGENT_BENCH_OUT"] {
            try report.write(toFile: path, atomically: true, encoding: .utf8)
        }
        #expect(baselineMedian > 0)
    }
}
