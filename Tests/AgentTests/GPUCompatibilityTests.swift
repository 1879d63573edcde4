import Foundation
import Plugins
import Testing

@testable import Agent

/// GPU compatibility as a readiness reason, through the real engine and a real model worker
/// (StreamPETR's worker.py with the STAND-IN torch/mmcv/mmdet3d of Tests/python/standins: no GPU,
/// no weights here). The stand-in torch reports the device's compute capability and its arch list.
@Suite struct GPUCompatibilityTests {
    typealias S = InferenceTestSupport

    static var standins: String { TestSupport.repoRoot.appendingPathComponent("Tests/python/standins").path }
    static var config: String {
        TestSupport.repoRoot.appendingPathComponent("Tests/python/checkouts/StreamPETR/projects/configs/StreamPETR/stream_petr_vov_flash_800_bs2_seq_24e.py").path
    }

    /// An engine that gives StreamPETR's instance one (fake) GPU, so its worker's device is cuda:0.
    /// The stand-in torch needs numpy, which only the test runner's own Python has here: these workers
    /// run as root, said explicitly (`inference.user: root`), with that Python.
    static func engine(capability: String, name: String) throws -> (InferenceEngine, ReadinessRegistry) {
        let device = GPUDevice(index: 0, name: name, uuid: "GPU-fake-0", memory_total_mib: 81559, memory_used_mib: 0,
                               memory_free_mib: 81559, utilization_percent: 0, temperature_c: 30)
        let probe = FakeGPUProbe(report: GPUReport(available: true, source: "fake", reason: nil, devices: [device]))
        let (engine, readiness, _) = try S.engine(
            models: ["StreamPETR"], probe: probe,
            environment: ["PYTHONPATH": standins, "STANDIN_CUDA_CAPABILITY": capability, "STANDIN_CUDA_NAME": name]
        ) { config in
            config.inference.python = "python3"
            config.inference.user = "root"
            // A repository load takes a config and checkpoint from the data roots (and the model's own dirs).
            config.api.dataRoots = [TestSupport.repoRoot.appendingPathComponent("Tests/python/checkouts").path, NSTemporaryDirectory()]
        }
        return (engine, readiness)
    }

    @Test func anH100MakesStreamPETRNotReadyNamingTheGPUAndWhatTheImageSupportsStandinTorch() async throws {
        let (engine, readiness) = try Self.engine(capability: "9.0", name: "NVIDIA H100 80GB HBM3")
        let checkpoint = try TestSupport.temporaryDirectory("gpu") + "/weights.pth"
        try Data("stand-in".utf8).write(to: URL(fileURLWithPath: checkpoint))
        let failure = await S.failure { () throws(AgentError) in
            _ = try await engine.load("StreamPETR", overrides: ModelOverrides(config: Self.config, checkpoint: checkpoint))
        }
        #expect(failure?.code == .unavailable)
        let status = try #require(await engine.status(of: "StreamPETR"))
        #expect(status.state == "UNAVAILABLE")
        let reason = status.reason ?? ""
        #expect(reason.contains("GPU 0 (CUDA_VISIBLE_DEVICES=0) NVIDIA H100 80GB HBM3 has compute capability 9.0 (sm_90), which this image cannot run"), "\(reason)")
        #expect(reason.contains("flash-attn 0.2.2 is built for sm_75, sm_80 (no PTX"), "the manifest's declared architectures reached the worker: \(reason)")
        #expect(reason.contains("torch 1.9.1+standin has kernels for sm_37, sm_50, sm_60, sm_70, sm_75, sm_80, sm_86"))
        let part = try #require(readiness.snapshot["model:StreamPETR"])
        #expect(!part.ready && part.reason?.contains("sm_90") == true)
    }

    @Test func anL40SServesStandinTorch() async throws {
        let (engine, _) = try Self.engine(capability: "8.9", name: "NVIDIA L40S")
        let checkpoint = try TestSupport.temporaryDirectory("gpu") + "/weights.pth"
        try Data("stand-in".utf8).write(to: URL(fileURLWithPath: checkpoint))
        let status = try await engine.load("StreamPETR", overrides: ModelOverrides(config: Self.config, checkpoint: checkpoint))
        #expect(status.state == "READY", "\(status.reason ?? "")")
        _ = try await engine.unload("StreamPETR")
    }
}
