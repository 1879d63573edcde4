import Foundation
import Logging
import Plugins
import ServiceLifecycle
import Testing

@testable import Agent

/// Crash loops, reload, unload, oneshot and GPU placement, over real worker processes.
@Suite("Inference engine: lifecycle (synthetic Demo workers)")
struct InferenceLifecycleTests {
    typealias S = InferenceTestSupport

    @Test func aCrashLoopMakesTheModelNotReadyWithTheReason() async throws {
        let (engine, readiness, _) = try S.engine { $0.inference.crashLoopFailures = 3 }
        _ = try await engine.load("Demo", overrides: ModelOverrides())
        // Every attempt crashes (retries: 2 → three failures in a row).
        let failure = await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("crash", options: ["fail": "crash"])) }
        #expect(failure?.code == .notReady || failure?.code == .unavailable)
        let status = try #require(await engine.status(of: "Demo"))
        #expect(status.state == "UNAVAILABLE")
        #expect(status.reason?.contains("crash loop") == true)
        let part = try #require(readiness.snapshot["model:Demo"])
        #expect(!part.ready && part.reason?.contains("crash loop") == true)
        let next = await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("after")) }
        #expect(next?.code == .notReady && next?.message.contains("crash loop") == true)
        // A repository load starts it again.
        #expect(try await engine.load("Demo", overrides: ModelOverrides()).state == "READY")
        _ = try await engine.unload("Demo")
    }

    @Test func aLoadFailureMakesTheModelUnavailableWithTheWorkersMessage() async throws {
        let plugins = try S.demoPlugins(options: "{load_time_s: not-a-number}")
        let (engine, readiness, _) = try S.engine(pluginsDir: plugins)
        let failure = await S.failure { () throws(AgentError) in _ = try await engine.load("Demo", overrides: ModelOverrides()) }
        #expect(failure?.code == .unavailable && failure?.message.contains("not-a-number") == true)
        let status = try #require(await engine.status(of: "Demo"))
        #expect(status.state == "UNAVAILABLE" && status.reason?.contains("load failed") == true)
        #expect(readiness.snapshot["model:Demo"]?.ready == false)
    }

    @Test func aWorkerThatDiesWhileIdleIsRestarted() async throws {
        let (engine, _, killed) = try S.engine()
        let oldPID = try #require(try await engine.load("Demo", overrides: ModelOverrides()).instances.first?.pid)
        kill(oldPID, SIGKILL)
        #expect(await eventually {
            let instance = await engine.status(of: "Demo")?.instances.first
            return instance?.state == "idle" && instance?.pid != nil && instance?.pid != oldPID
        })
        #expect(killed.groups.contains(oldPID))
        #expect(await engine.status(of: "Demo")?.instances.first?.lastError?.contains("idle") == true)
        _ = try await engine.infer(try S.request("after-idle-death"))
        _ = try await engine.unload("Demo")
    }

    @Test func reloadKeepsServingOnTheOldWorkersUntilTheNewOnesAreReady() async throws {
        let plugins = try S.demoPlugins(options: "{load_time_s: 2}")
        // An overriding config must lie in the plugin dir, the checkpoints dir or a data root.
        let dataRoot = try TestSupport.temporaryDirectory("reload")
        let (engine, _, killed) = try S.engine(pluginsDir: plugins) { $0.api.dataRoots = [dataRoot] }
        let oldPID = try #require(try await engine.load("Demo", overrides: ModelOverrides()).instances.first?.pid)
        let config = dataRoot + "/demo_config.py"
        try "# a config for the synthetic Demo\n".write(toFile: config, atomically: true, encoding: .utf8)
        let reload = Task { try await engine.load("Demo", overrides: ModelOverrides(config: config)) }
        #expect(await eventually { await engine.status(of: "Demo")?.instances.count == 2 })
        // While the new worker loads, the old one answers.
        let during = try await engine.infer(try S.request("during-reload"))
        #expect(during.result.detections != nil)
        let status = try await reload.value
        #expect(status.state == "READY" && status.config == config)
        let newPID = try #require(status.instances.first { $0.state != "stopping" }?.pid)
        #expect(newPID != oldPID)
        #expect(S.environment(ofProcess: newPID)["PODAGENT_MODEL_CONFIG"] == config)
        #expect(await eventually { killed.groups.contains(oldPID) && S.processes(inGroup: oldPID).isEmpty })
        #expect(await engine.status(of: "Demo")?.instances.count == 1)
        let missing = await S.failure { () throws(AgentError) in _ = try await engine.load("Demo", overrides: ModelOverrides(checkpoint: "/nonexistent/x.pth")) }
        #expect(missing?.code == .invalidArgument && missing?.message.contains("parameters.checkpoint: '/nonexistent/x.pth'") == true)
        _ = try await engine.unload("Demo")
    }

    @Test func unloadStopsTheWorkersAndRefusesRequests() async throws {
        let (engine, readiness, killed) = try S.engine()
        let pid = try #require(try await engine.load("Demo", overrides: ModelOverrides()).instances.first?.pid)
        let status = try await engine.unload("Demo")
        #expect(status.state == "UNAVAILABLE" && status.instances.isEmpty)
        #expect(killed.groups.contains(pid))
        #expect(S.processes(inGroup: pid).isEmpty)
        #expect(readiness.snapshot["model:Demo"] == nil)  // an explicit unload does not hold the pod's readiness
        let refused = await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("after-unload")) }
        #expect(refused?.code == .notReady && refused?.message.contains("unloaded") == true)
        #expect(await engine.index().map(\.name).contains("Demo"))
    }

    @Test func oneshotModeRunsTheTemplateOncePerRequest() async throws {
        let dir = try TestSupport.temporaryDirectory("oneshot-plugins")
        try FileManager.default.createDirectory(atPath: "\(dir)/Script", withIntermediateDirectories: true)
        try TestSupport.writeScript("\(dir)/Script/demo.py", """
            import json, os, sys
            inputs = json.load(open(sys.argv[1]))
            n = int(inputs.get("boxes", 1))
            if inputs.get("fail_once_file") and not os.path.exists(inputs["fail_once_file"]):
                open(inputs["fail_once_file"], "w").close()
                sys.exit(5)
            raw = {"pts_bbox": {"boxes_3d": [[i, 0, 0, 1, 2, 1.5, 0, 0, 0] for i in range(n)],
                                "scores_3d": [0.9] * n, "labels_3d": [0] * n}}
            with open(sys.argv[2], "w") as out:
                json.dump({"config": sys.argv[3], "raw": raw}["raw"], out)
            """)
        try """
            name: Script
            version: 0.1.0
            parser: detection3d-mmdet3d-0.17
            tasks: [detection3d]
            upstream: {repository: https://example.invalid/script, commit: abcdef1}
            config: /opt/script/config.py
            checkpoint: {file: script.pth}
            class_names: [car]
            default_score_threshold: 0.1
            point_cloud_range: [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
            versions: {pytorch: 1.9.1, cuda: "11.1", mmcv: 1.4.0, mmdet3d: 0.17.1, base_image: x}
            worker: {command: [python3, "{plugin_dir}/demo.py", "{input}", "{output}", "{config}"], mode: oneshot}
            timeout_seconds: 30
            retries: 1
            """.write(toFile: "\(dir)/Script/plugin.yaml", atomically: true, encoding: .utf8)
        let (engine, _, _) = try S.engine(models: ["Script"], pluginsDir: dir)
        #expect(try await engine.load("Script", overrides: ModelOverrides()).state == "READY")
        var request = try S.request("one", inputs: ["boxes": 3])
        request.model = "Script"
        let outcome = try await engine.infer(request)
        #expect(outcome.result.detections?.count == 3 && outcome.attempts == 1)
        // A failed run is retried like a crashed worker.
        var retried = try S.request("two", inputs: ["boxes": 2, "fail_once_file": try TestSupport.workerWritableDirectory("oneshot") + "/failed"])
        retried.model = "Script"
        let second = try await engine.infer(retried)
        #expect(second.attempts == 2 && second.result.detections?.count == 2)
        // A template without {output} is refused by the manifest loader.
        let bad = try String(contentsOfFile: "\(dir)/Script/plugin.yaml", encoding: .utf8).replacingOccurrences(of: #""{output}", "#, with: "")
        #expect(throws: PluginError.self) { try ManifestLoader.parse(bad, path: "bad.yaml") }
        _ = try await engine.unload("Script")
    }

    @Test func placementPerGPUWithAFakeGPUProbeGivesEachInstanceItsGPU() async throws {
        let devices = (0..<2).map {
            GPUDevice(index: $0, name: "Fake GPU \($0)", uuid: "GPU-fake-\($0)", memory_total_mib: 1000, memory_used_mib: 0,
                      memory_free_mib: 1000, utilization_percent: 0, temperature_c: 30)
        }
        let probe = FakeGPUProbe(report: GPUReport(available: true, source: "fake", reason: nil, devices: devices))
        let (engine, readiness, _) = try S.engine(probe: probe) { $0.inference.placement = .perGPU }
        let status = try await engine.load("Demo", overrides: ModelOverrides())
        #expect(status.instances.map(\.gpu) == ["0", "1"])
        for instance in status.instances {
            let pid = try #require(instance.pid)
            let environment = S.environment(ofProcess: pid)
            #expect(environment["CUDA_VISIBLE_DEVICES"] == instance.gpu)
            #expect(environment["PODAGENT_DEVICE"] == "cuda:0")
            #expect(environment["PODAGENT_WORKER"] == "Demo/\(instance.index)")
            #expect(environment["PODAGENT_AGENT_PID"] == "\(getpid())")
            #expect(environment["PYTHONPATH"]?.hasPrefix("\(S.pluginsDir)/runtime") == true)
            #expect(environment["PODAGENT_MODEL"] == "Demo")
        }
        #expect(readiness.snapshot["model:Demo"]?.details["gpus"] == "0,1")
        // Two instances serve two requests at once.
        async let a = engine.infer(try S.request("a", options: ["infer_time_s": 0.5]))
        async let b = engine.infer(try S.request("b", options: ["infer_time_s": 0.5]))
        #expect(Set([try await a.instance, try await b.instance]) == [0, 1])
        _ = try await engine.unload("Demo")

        let (cpuOnly, _, _) = try S.engine { $0.inference.placement = .perGPU }
        let refused = await S.failure { () throws(AgentError) in _ = try await cpuOnly.load("Demo", overrides: ModelOverrides()) }
        #expect(refused?.code == .notReady && refused?.message.contains("no GPU is visible") == true)
        let (none, _, _) = try S.engine(probe: probe) { $0.inference.placement = .none }
        let plain = try #require(try await none.load("Demo", overrides: ModelOverrides()).instances.first)
        #expect(plain.gpu == nil)
        #expect(S.environment(ofProcess: try #require(plain.pid))["CUDA_VISIBLE_DEVICES"] == nil)
        #expect(S.environment(ofProcess: try #require(plain.pid))["PODAGENT_DEVICE"] == "cpu")
        _ = try await none.unload("Demo")
    }

    @Test func theServiceStartsEnabledModelsAfterTheirChecksAndStopsThemOnShutdown() async throws {
        var config = AgentConfig()
        config.pluginsDir = S.pluginsDir
        config.models = ["Demo"]
        config.http.host = "127.0.0.1"
        config.http.port = 0
        config.inference.killGrace = 1
        config.inference.python = TestSupport.workerPython
        let logger = Logger(label: "engine-service-test")
        let agent = TestAgent(
            config: config, stateDir: try TestSupport.temporaryDirectory("engine-service"), logger: logger, gpuProbe: FakeGPUProbe(),
            models: try ModelCatalog.load(config: config))
        let group = ServiceGroup(
            services: [agent.checks, InferenceEngineService(engine: agent.engine, checks: agent.checkOutcomes)], logger: logger)
        let running = Task { try await group.run() }
        // The checks pass first ("validated"), then the engine reports its workers ready.
        #expect(await eventually { agent.readiness.snapshot["model:Demo"]?.state == "ready" })
        #expect(agent.readiness.snapshot["model:Demo"]?.ready == true)
        let pid = try #require(await agent.engine.status(of: "Demo")?.instances.first?.pid)
        let outcome = try await agent.engine.infer(try S.request("via-service"))
        #expect(outcome.result.meta.model == "Demo")
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(S.processes(inGroup: pid).isEmpty, "a worker was left behind after shutdown")
        #expect(await agent.engine.status(of: "Demo")?.instances.isEmpty == true)
    }

    @Test func inferenceConfigKeysParse() throws {
        var config = AgentConfig()
        func apply(_ key: String, _ value: String) throws {
            let setting = try #require(ConfigSchema.settings.first { $0.key == key })
            try setting.apply(&config, .scalar(value))
        }
        try apply("inference.instances", "VAD=2, PETR=1, *=3")
        #expect(config.inference.instanceCount(of: "vad") == 2 && config.inference.instanceCount(of: "Demo") == 3)
        try apply("inference.placement", "0,2")
        #expect(config.inference.placement == .gpus(["0", "2"]))
        try apply("inference.placement", "per-gpu")
        #expect(config.inference.placement == .perGPU)
        #expect(throws: ConfigProblem.self) { try apply("inference.placement", "gpu0") }
        #expect(throws: ConfigProblem.self) { try apply("inference.instances", "VAD=0") }
        let keys = ConfigSchema.settings.map(\.key).filter { $0.hasPrefix("inference.") }
        #expect(Set(keys).count == keys.count)
        #expect(ConfigSchema.settings.filter { $0.key.hasPrefix("inference.") }.allSatisfy { $0.environment?.hasPrefix("PODAGENT_INFERENCE_") == true })
    }
}
