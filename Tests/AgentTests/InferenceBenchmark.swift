import Foundation
import Plugins
import Testing

@testable import Agent

/// Not a test: the inference engine benchmark (bench/inference/run.sh), run only with PODAGENT_BENCH=1.
/// Warm engine latency against a subprocess per request with the same synthetic Demo model
/// (load_time_s 5), in the same run; and the engine's overhead on top of the worker's own compute.
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
        for format in ["vad", "petr"] {
            for index in 0..<10 { _ = try await engine.infer(try InferenceTestSupport.request("warmup-\(format)-\(index)", options: ["raw_format": format])) }
            var totals: [Double] = []
            var overheads: [Double] = []
            var parses: [Double] = []
            for index in 0..<requests {
                let start = ContinuousClock.now
                let outcome = try await engine.infer(try InferenceTestSupport.request("b-\(format)-\(index)", options: ["raw_format": format]))
                let total = (ContinuousClock.now - start).inSeconds
                totals.append(total)
                overheads.append(total - outcome.timings.inference_s)
                parses.append(outcome.timings.parse_s)
            }
            if format == "vad" { warmVADMedian = Self.percentile(totals, 0.5) }
            lines.append(String(
                format: "warm engine, %@ result: latency median %.2f ms p90 %.2f ms; overhead over the worker's compute median %.2f ms p90 %.2f ms (Swift parse alone median %.2f ms) over %d requests",
                format, Self.percentile(totals, 0.5) * 1000, Self.percentile(totals, 0.9) * 1000, Self.percentile(overheads, 0.5) * 1000,
                Self.percentile(overheads, 0.9) * 1000, Self.percentile(parses, 0.5) * 1000, requests))
        }
        _ = try await engine.unload("Demo")

        // The Swift side alone: decoding a VAD-sized answer line and parsing it into the standard result.
        let worker = WorkerProcessTests.demo()
        _ = try await worker.start()
        let line = try await worker.infer(id: "line", inputs: Data(#"{"sample_id":"s1"}"#.utf8), options: Data(#"{"raw_format":"vad"}"#.utf8), timeout: .seconds(30))
        await worker.stop()
        let plugin = try #require(try ModelCatalog.load(config: {
            var config = AgentConfig()
            config.pluginsDir = InferenceTestSupport.pluginsDir
            return config
        }()).plugin(named: "Demo"))
        var swiftSide: [Double] = []
        for _ in 0..<requests {
            let start = ContinuousClock.now
            let message = try JSONReader.parse(Array(line))
            _ = try plugin.parse(raw: try #require(message["raw"]), options: ParseOptions(scoreThreshold: 0))
            swiftSide.append((ContinuousClock.now - start).inSeconds)
        }
        lines.append(String(
            format: "Swift side only (decode the %d-byte VAD answer line + parse to the standard result): median %.2f ms p90 %.2f ms",
            line.count, Self.percentile(swiftSide, 0.5) * 1000, Self.percentile(swiftSide, 0.9) * 1000))

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
