import Foundation
import Testing
import TestProcesses

@testable import Compare

/// Two REAL `podagent run` processes serving the Demo model, asked for different raw formats; `podagent compare`
/// (the real binary) against both.
@Suite("compare end to end: two podagent instances running Demo", .serialized)
struct DemoAgentsEndToEndTests {
    @Test func podagentCompareAgainstTwoDemoAgents() throws {
        let dir = try Shell.temporaryDirectory("e2e")
        let token = "e2e-\(UUID().uuidString.prefix(8))"
        try token.write(toFile: "\(dir)/token", atomically: true, encoding: .utf8)
        let first = try DemoPodagent(dir: dir, name: "a", token: token)
        defer { first.stop() }
        let second = try DemoPodagent(dir: dir, name: "b", token: token)
        defer { second.stop() }
        try FileManager.default.createDirectory(atPath: "\(dir)/inputs", withIntermediateDirectories: true)
        for index in 1...4 {
            try #"{"sample_id": "e2e-\#(index)"}"#.write(toFile: "\(dir)/inputs/\(index).json", atomically: true, encoding: .utf8)
        }
        // Column "flaky" fails its first request only: the Demo worker's own failure injection (fail + fail_once_file).
        // The workers run as nobody under a root podagent: the marker's folder must be theirs to write.
        try FileManager.default.createDirectory(atPath: "\(dir)/worker", withIntermediateDirectories: true)
        chmod("\(dir)/worker", 0o1777)
        let result = try Shell.run([
            Shell.binary("podagent"), "compare", "--url", first.baseURL, "--url", second.baseURL,
            "--models", "petr=Demo@\(first.baseURL),vad=Demo@\(second.baseURL),flaky=Demo@\(second.baseURL)",
            "--option", "petr:raw_format=petr", "--option", "vad:raw_format=vad", "--option", "flaky:raw_format=petr",
            "--option", "flaky:fail=error", "--option", "flaky:fail_once_file=\(dir)/worker/failed-once",
            "--inputs", "\(dir)/inputs", "--out", "\(dir)/report", "--token-file", "\(dir)/token", "--timeout", "60",
        ], environment: Shell.environment(), timeout: 300)
        let report = try JSONDecoder().decode(CompareReport.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/report/report.json")))
        #expect(report.models == ["petr", "vad", "flaky"])
        #expect(result.status == 1, "a failed request makes the exit status 1")
        let rows = Dictionary(uniqueKeysWithValues: report.perModel.map { ($0.model, $0) })
        #expect(rows["petr"]?.succeeded == 4, "\(result.stderr)")
        #expect(rows["petr"]?.outputsPerSample["detections"] != nil)
        #expect(rows["vad"]?.outputsPerSample["map_elements"] != nil)
        #expect(report.agreement.contains { $0.models == ["petr", "vad"] && $0.section == "detections" })
        #expect(rows["flaky"]?.failed == 1 && rows["flaky"]?.succeeded == 3)
        #expect(report.failures.contains { $0.model == "flaky" && $0.message.contains("injected model failure") })
        // Same raw format, same sample ids: the Demo worker is deterministic per sample, so the two agree fully.
        let same = report.agreement.first { $0.models == ["petr", "flaky"] && $0.section == "detections" }
        #expect(same?.levels.allSatisfy { $0.agreement == 1 } == true)
        #expect(result.stdout.contains("wrote \(dir)/report/report.json"))
        let html = try String(contentsOfFile: "\(dir)/report/report.html", encoding: .utf8)
        #expect(html.contains("class=\"chart bev\""))
    }
}
