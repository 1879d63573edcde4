import Compare
import Controller
import Foundation
import Synchronization
import Testing
import TestProcesses

/// `podctl compare` over real sshd pods and real tunnels, each pod with its own token file; the agents behind
/// the tunnels are STAND-INS of the inference HTTP API serving results made by the REAL PETR and VAD parsers.
@Suite("podctl compare through tunnels", .serialized)
struct CompareCommandTests {
    let fleet = SSHDFleet.shared

    func parse(_ model: String, fixture: String, sample: String, into dir: String) throws -> String {
        let output = "\(dir)/\(model)-\(sample).json"
        let result = try Shell.run([Shell.binary("podagent"), "parse", "--model", model, "--input",
                                    Shell.repoRoot.appendingPathComponent("Tests/PluginsTests/Fixtures/\(fixture)").path,
                                    "--sample-id", sample, "--plugins-dir", Shell.repoRoot.appendingPathComponent("Plugins").path,
                                    "--output", output])
        if result.status != 0 { throw FixtureError("podagent parse \(model): \(result.stderr)") }
        return output
    }

    @Test func compareAcrossPodsWithPerPodTokensAndAnUnreachablePod() throws {
        let dir = try Shell.temporaryDirectory("compare")
        let samples = ["a", "b", "c"]
        var petr: [String: String] = [:], vad: [String: String] = [:]
        for sample in samples {
            petr[sample] = try parse("PETR", fixture: "petr_typical.json", sample: sample, into: dir)
            vad[sample] = try parse("VAD", fixture: "vad_typical.json", sample: sample, into: dir)
        }
        var pods: [Pod] = []
        var agents: [pid_t] = []
        defer { for pid in agents { Shell.stop(pid) } }
        for (index, (model, results)) in [("PETR", petr), ("VAD", vad)].enumerated() {
            let token = "token-\(index)-\(UUID().uuidString.prefix(6))"
            let folder = "\(dir)/agent\(index)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try token.write(toFile: "\(folder)/token", atomically: true, encoding: .utf8)
            let agent = try StandInAgent(dir: folder, config: [
                "token": token, "models": [model: ["load_s": 2.5]], "results": [model: results],
                "fail": ["VAD": ["c": [504, "timed out after 1 s"]]],
            ])
            agents.append(agent.pid)
            var pod = fleet.pods[10 + index]
            pod.agentPort = agent.port
            pod.tokenFile = "\(folder)/token"
            pods.append(pod)
        }
        pods.append(Pod(name: "gone", host: "127.0.0.1", port: Shell.freePort(), user: "root", identity: fleet.clientKey))
        try FileManager.default.createDirectory(atPath: "\(dir)/inputs", withIntermediateDirectories: true)
        let list = "[" + samples.map { #"{"sample_id": "\#($0)"}"# }.joined(separator: ",") + "]"
        try list.write(toFile: "\(dir)/inputs/all.json", atomically: true, encoding: .utf8)
        let warnings = WarningLog()
        let outcome = try CompareCommand.run(
            pods: pods, settings: fleet.settings(), series: try CompareSeries.parse(models: "PETR,VAD", options: []),
            samples: try SampleLoader.load("\(dir)/inputs"), tokenFile: nil, environment: [:], timeout: 30,
            outDirectory: "\(dir)/report", warn: { warnings.add($0) })
        #expect(warnings.all.count == 1 && warnings.all.first?.hasPrefix("gone: skipped") == true, "\(warnings.all)")
        let rows = Dictionary(uniqueKeysWithValues: outcome.report.perModel.map { ($0.model, $0) })
        #expect(rows["PETR"]?.succeeded == 3 && rows["PETR"]?.pods == [pods[0].name] && rows["PETR"]?.loadS == 2.5)
        #expect(rows["VAD"]?.succeeded == 2 && rows["VAD"]?.failuresByKind == ["timeout": 1] && rows["VAD"]?.pods == [pods[1].name])
        #expect(outcome.report.failures.map(\.sample) == ["c"])
        #expect(outcome.report.agreement.contains { $0.models == ["PETR", "VAD"] && $0.section == "detections" && $0.samples == 2 })
        #expect(FileManager.default.fileExists(atPath: outcome.json) && FileManager.default.fileExists(atPath: outcome.html))
    }
}

final class WarningLog: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
