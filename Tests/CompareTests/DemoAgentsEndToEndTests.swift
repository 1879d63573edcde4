import Foundation
import Testing
import TestProcesses

@testable import Compare

/// Two REAL `podagent run` processes serving the Demo model, asked for different raw formats; `podagent compare`
/// (the real binary) against both. Needs the inference API (`POST /models/{name}/infer`), which is another
/// helper's branch: until it is merged the agent answers 404 for the route and this suite is disabled, saying why.
@Suite("compare end to end: two podagent instances running Demo", .serialized,
       .enabled(if: InferenceAPIProbe.available, "needs podagent's inference API (POST /models/{name}/infer) and the Demo plugin; see the printed reason"))
struct DemoAgentsEndToEndTests {
    @Test func podagentCompareAgainstTwoDemoAgents() throws {
        let dir = try Shell.temporaryDirectory("e2e")
        let token = "e2e-\(UUID().uuidString.prefix(8))"
        try token.write(toFile: "\(dir)/token", atomically: true, encoding: .utf8)
        let first = try RealAgent(dir: dir, name: "a", token: token)
        defer { first.stop() }
        let second = try RealAgent(dir: dir, name: "b", token: token)
        defer { second.stop() }
        try FileManager.default.createDirectory(atPath: "\(dir)/inputs", withIntermediateDirectories: true)
        for index in 1...4 {
            try #"{"sample_id": "e2e-\#(index)"}"#.write(toFile: "\(dir)/inputs/\(index).json", atomically: true, encoding: .utf8)
        }
        // Column "flaky" fails its first request only: the Demo worker's own failure injection (fail + fail_once_file).
        let result = try Shell.run([
            Shell.binary("podagent"), "compare", "--url", first.baseURL, "--url", second.baseURL,
            "--models", "petr=Demo@\(first.baseURL),vad=Demo@\(second.baseURL),flaky=Demo@\(second.baseURL)",
            "--option", "petr:raw_format=petr", "--option", "vad:raw_format=vad", "--option", "flaky:raw_format=petr",
            "--option", "flaky:fail=error", "--option", "flaky:fail_once_file=\(dir)/failed-once",
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

/// A real `podagent run` on an ephemeral port with PODAGENT_MODELS=Demo and a token.
final class RealAgent {
    let pid: pid_t
    let baseURL: String

    init(dir: String, name: String, token: String?) throws {
        let state = "\(dir)/state-\(name)"
        let log = "\(dir)/agent-\(name).log"
        var environment = Shell.environment(["PODAGENT_SSH": "off", "PODAGENT_MODELS": "Demo"])
        if let token { environment["PODAGENT_TOKEN"] = token }
        pid = try Shell.spawn([Shell.binary("podagent"), "run", "--http-host", "127.0.0.1", "--http-port", "0", "--state-dir", state,
                              "--plugins-dir", Shell.repoRoot.appendingPathComponent("Plugins").path],
                             environment: environment, stdout: log, stderr: log)
        guard let line = Shell.waitForLine(in: log, containing: "listening on http://"),
              let range = line.range(of: "http://") else {
            Shell.stop(pid)
            throw FixtureError("podagent did not start: \((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(1500) ?? "")")
        }
        let address = line[range.lowerBound...].prefix { !$0.isWhitespace && $0 != "\"" }
        baseURL = String(address)
    }

    func stop() { Shell.stop(pid) }
}

/// Whether this build's podagent serves `POST /models/{name}/infer`: started once, asked once.
enum InferenceAPIProbe {
    static let available: Bool = {
        do {
            let dir = try Shell.temporaryDirectory("probe")
            let agent = try RealAgent(dir: dir, name: "probe", token: nil)
            defer { agent.stop() }
            let transport = try HTTPAgentTransport(baseURL: agent.baseURL, token: nil)
            let reply = try transport.send(method: "POST", path: "/models/Demo/infer", body: Data(#"{"inputs": {}}"#.utf8), timeout: 30)
            let body = String(decoding: reply.body, as: UTF8.self)
            // The route's own 404 names the model; a router without the route does not.
            if reply.status == 404 && !body.contains("Demo") {
                print("compare end-to-end: skipped: podagent has no inference API yet (POST /models/Demo/infer → 404 \(body.prefix(120)))")
                return false
            }
            return true
        } catch {
            print("compare end-to-end: skipped: could not probe podagent: \(error)")
            return false
        }
    }()
}
