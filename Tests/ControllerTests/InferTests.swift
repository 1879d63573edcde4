import AgentAPI
import Compare
import Controller
import Foundation
import Testing
import TestProcesses

/// `podctl infer` over a real sshd and a real libssh tunnel. Most tests put a STAND-IN of the inference HTTP API
/// (Tests/CompareTests/Support/standin_agent.py) behind the tunnel, serving a result made by the REAL PETR parser,
/// so they can script busy and failing agents; `inferAgainstARealPodagentBehindSSHD` runs a real podagent.
@Suite("podctl infer through a tunnel", .serialized)
struct InferTests {
    let fleet = SSHDFleet.shared

    @Test func inferThroughTheTunnelWithTokenAndErrorMapping() throws {
        let dir = try Shell.temporaryDirectory("infer")
        let raw = Shell.repoRoot.appendingPathComponent("Tests/PluginsTests/Fixtures/petr_typical.json").path
        let parsed = try Shell.run([Shell.binary("podagent"), "parse", "--model", "PETR", "--input", raw, "--sample-id", "s1",
                                    "--plugins-dir", Shell.repoRoot.appendingPathComponent("Plugins").path, "--output", "\(dir)/result.json"])
        try #require(parsed.status == 0, "podagent parse: \(parsed.stderr)")
        let token = "secret-\(UUID().uuidString.prefix(8))"
        try token.write(toFile: "\(dir)/token", atomically: true, encoding: .utf8)
        let agent = try StandInAgent(dir: dir, config: [
            "token": token, "models": ["PETR": ["gpu_memory_mib": 1800], "Exported": [:]],
            "results": ["PETR": ["s1": "\(dir)/result.json"], "Exported": ["s1": Shell.repoRoot.appendingPathComponent("Tests/PluginsTests/Fixtures/golden_petr_nuscenes.json").path]],
            "fail": ["PETR": ["busy": [429, "queue full"], "slow": [504, "timed out after 5 s"], "cold": [503, "loading"]]],
        ])
        defer { agent.stop() }
        var pod = fleet.pods[6]
        pod.agentPort = agent.port
        let sink = "\(dir)/out.txt"
        let out = OutputWriter(fd: open(sink, O_WRONLY | O_CREAT | O_TRUNC, 0o644))
        defer { close(out.fd) }
        let sample = try SampleLoader.build(file: nil, podPaths: ["sample_id=s1"], uploads: [])
        let reply = try #require(try InferCommand.run(pod: pod, settings: fleet.settings(), model: "PETR", sample: sample, options: [:],
                                                      token: try AgentToken(token, source: "test"), timeout: 30, output: .json, out: out))
        let expected = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/result.json"))
        #expect(reply.body == expected)
        #expect(reply.gpuMemoryMiB == 1800)
        #expect(try String(contentsOfFile: sink, encoding: .utf8) == String(decoding: expected, as: UTF8.self) + "\n")
        #expect(InferCommand.summary(reply).contains("detections"))
        // An export format is printed as received, not read as a standard result.
        let exportSink = "\(dir)/export.txt"
        let exportOut = OutputWriter(fd: open(exportSink, O_WRONLY | O_CREAT | O_TRUNC, 0o644))
        defer { close(exportOut.fd) }
        let exported = try InferCommand.run(pod: pod, settings: fleet.settings(), model: "Exported", sample: sample,
                                            options: ["format": .string("nuscenes")], token: try AgentToken(token, source: "test"), timeout: 30, output: .json, out: exportOut)
        #expect(exported == nil)
        let golden = try Data(contentsOf: Shell.repoRoot.appendingPathComponent("Tests/PluginsTests/Fixtures/golden_petr_nuscenes.json"))
        #expect(try String(contentsOfFile: exportSink, encoding: .utf8) == String(decoding: golden, as: UTF8.self) + "\n")
        let notStandard = #expect(throws: CompareError.self) {
            try InferCommand.run(pod: pod, settings: fleet.settings(), model: "Exported", sample: sample, options: [:],
                                 token: try AgentToken(token, source: "test"), timeout: 30, output: .json, out: exportOut)
        }
        #expect(notStandard?.code == .invalidResult)

        func failure(model: String = "PETR", sample id: String, token text: String? = token) -> CompareError? {
            let token = text.flatMap { try? AgentToken($0, source: "test") }
            let sample = try? SampleLoader.build(file: nil, podPaths: ["sample_id=\(id)"], uploads: [])
            do {
                _ = try InferCommand.run(pod: pod, settings: fleet.settings(), model: model, sample: sample ?? Sample(id: "", inputs: Data(), source: ""),
                                         options: [:], token: token, timeout: 30, output: .json, out: out)
                return nil
            } catch let error as CompareError {
                return error
            } catch {
                return CompareError(.io, "\(error)")
            }
        }
        let cases: [(CompareError?, CompareError.Code, Int32)] = [
            (failure(sample: "s1", token: "wrong"), .unauthorized, 3), (failure(model: "Nope", sample: "s1"), .notFound, 4),
            (failure(sample: "busy"), .overloaded, 5), (failure(sample: "cold"), .unavailable, 5), (failure(sample: "slow"), .timeout, 6),
        ]
        for (error, code, exit) in cases {
            #expect(error?.code == code && error?.programExit.rawValue == exit, "\(String(describing: error))")
            #expect(error?.message.hasPrefix("\(pod.name): ") == true)
            #expect(error?.message.contains(token) == false)
        }
        #expect(failure(sample: "busy")?.message.contains("retry after 3 s") == true)
    }

    @Test func podctlInferCommandLineReadsTheInventoryTokenFile() throws {
        let dir = try Shell.temporaryDirectory("infer-cli")
        let raw = Shell.repoRoot.appendingPathComponent("Tests/PluginsTests/Fixtures/petr_typical.json").path
        let parsed = try Shell.run([Shell.binary("podagent"), "parse", "--model", "PETR", "--input", raw, "--sample-id", "cli",
                                    "--plugins-dir", Shell.repoRoot.appendingPathComponent("Plugins").path, "--output", "\(dir)/result.json"])
        try #require(parsed.status == 0, "podagent parse: \(parsed.stderr)")
        let token = "cli-\(UUID().uuidString.prefix(8))"
        try token.write(toFile: "\(dir)/token", atomically: true, encoding: .utf8)
        let agent = try StandInAgent(dir: dir, config: ["token": token, "models": ["PETR": [:]], "results": ["PETR": ["cli": "\(dir)/result.json"]]])
        defer { agent.stop() }
        let pod = fleet.pods[7]
        try """
            defaults: {user: root, identity: \(fleet.clientKey), token_file: \(dir)/token}
            pods:
              - {name: \(pod.name), host: 127.0.0.1, port: \(pod.port), agent_port: \(agent.port)}
            """.write(toFile: "\(dir)/fleet.yaml", atomically: true, encoding: .utf8)
        try #"{"sample_id": "cli", "images": {}}"#.write(toFile: "\(dir)/sample.json", atomically: true, encoding: .utf8)
        let environment = Shell.environment()
        let ok = try Shell.run([Shell.binary("podctl"), "infer", "-i", "\(dir)/fleet.yaml", "--known-hosts", fleet.knownHosts,
                                pod.name, "PETR", "\(dir)/sample.json", "--summary"], environment: environment, timeout: 60)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("sample: cli") && ok.stdout.contains("SECTION"))
        #expect(!ok.stdout.contains(token) && !ok.stderr.contains(token))
        // PODCTL_TOKEN wins over the inventory's file: a wrong one is refused (exit 3), and never echoed.
        var wrongEnvironment = environment
        wrongEnvironment["PODCTL_TOKEN"] = "wrong-token-value"
        let refused = try Shell.run([Shell.binary("podctl"), "infer", "-i", "\(dir)/fleet.yaml", "--known-hosts", fleet.knownHosts,
                                     pod.name, "PETR", "\(dir)/sample.json"], environment: wrongEnvironment, timeout: 60)
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.contains("the token was refused (environment variable PODCTL_TOKEN)"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("wrong-token-value"))
        let missing = try Shell.run([Shell.binary("podctl"), "infer", "-i", "\(dir)/fleet.yaml", "--known-hosts", fleet.knownHosts,
                                     pod.name, "PETR", "\(dir)/nope.json"], environment: environment, timeout: 60)
        #expect(missing.status == 2 && missing.stderr.contains("nope.json"))
    }

    /// A real `podagent run` serving the Demo plugin's real worker, reached through the real sshd.
    @Test func inferAgainstARealPodagentBehindSSHD() throws {
        let dir = try Shell.temporaryDirectory("infer-real")
        let token = "real-\(UUID().uuidString.prefix(8))"
        let agent = try DemoPodagent(dir: dir, token: token)
        defer { agent.stop() }
        var pod = fleet.pods[8]
        pod.agentPort = agent.port
        let out = OutputWriter(fd: open("/dev/null", O_WRONLY))
        let sample = try SampleLoader.build(file: nil, podPaths: ["sample_id=real-1"], uploads: [])
        let reply = try #require(try InferCommand.run(pod: pod, settings: fleet.settings(), model: "Demo", sample: sample,
                                                      options: ["raw_format": .string("petr")], token: try AgentToken(token, source: "test"), timeout: 60, output: .json, out: out))
        #expect(reply.result.detections?.isEmpty == false)
        #expect(reply.result.meta.sampleID == "real-1")
        let refused = #expect(throws: CompareError.self) {
            try InferCommand.run(pod: pod, settings: fleet.settings(), model: "Demo", sample: sample, options: [:],
                                 token: try AgentToken("wrong", source: "test"), timeout: 60, output: .json, out: out)
        }
        #expect(refused?.code == .unauthorized)
    }
}
