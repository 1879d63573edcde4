import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import Agent

@Suite("Health endpoints through the app")
struct HealthEndpointTests {
    static func makeAgent(gpu: GPUReport = .unavailable("no GPU in this test (fake probe)")) throws -> TestAgent {
        var config = AgentConfig()
        config.http.host = "127.0.0.1"
        config.http.port = 0
        return TestAgent(
            config: config, stateDir: try TestSupport.temporaryDirectory("health"), logger: Logger(label: "test"),
            gpuProbe: FakeGPUProbe(report: gpu))
    }

    static func decode(_ buffer: ByteBuffer) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
        return try #require(object as? [String: Any])
    }

    @Test func liveAnswersTrue() async throws {
        let app = Application(router: try Self.makeAgent().buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/health/live", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(String(buffer: response.body) == #"{"live":true}"#)
            }
        }
    }

    @Test func readinessFlipsWithParts() async throws {
        let agent = try Self.makeAgent()
        let app = Application(router: agent.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"ready":true}"#)
            }
            agent.readiness.update("sshd", PartStatus(ready: false, state: "crash_loop", reason: "restarted 5 times in 10 s"))
            agent.readiness.update("model:petr", PartStatus(ready: true, state: "running"))
            try await client.execute(uri: "/v2/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try Self.decode(response.body)
                #expect(body["ready"] as? Bool == false)
                #expect(body["reasons"] as? [String] == ["sshd: restarted 5 times in 10 s"])
            }
            agent.readiness.update("sshd", PartStatus(ready: true, state: "running"))
            try await client.execute(uri: "/v2/health/ready", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func serverMetadata() async throws {
        let app = Application(router: try Self.makeAgent().buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2", method: .get) { response in
                #expect(response.status == .ok)
                let body = try Self.decode(response.body)
                #expect(body["name"] as? String == "podagent")
                #expect(body["version"] as? String == PodAgentVersion.current)
                #expect((body["extensions"] as? [String])?.contains("health_report") == true)
            }
        }
    }

    @Test func detailedReportHasHostGPUAndParts() async throws {
        let gpu = GPUReport(
            available: true, source: "nvidia-smi", reason: nil,
            devices: [GPUDevice(index: 0, name: "Fake H100", uuid: "GPU-fake-0", memory_total_mib: 81559, memory_used_mib: 1024,
                                memory_free_mib: 80535, utilization_percent: 12, temperature_c: 40,
                                processes: [GPUProcess(pid: 4242, used_mib: 1000, name: "python")])])
        let agent = try Self.makeAgent(gpu: gpu)
        await agent.gpu.refresh()
        agent.readiness.update("sshd", PartStatus(ready: true, state: "running", details: ["fingerprint_ed25519": "SHA256:abc"]))
        let app = Application(router: agent.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let report = try JSONDecoder().decode(HealthReport.self, from: Data(response.body.readableBytesView))
                #expect(report.agent.version == PodAgentVersion.current)
                #expect(report.agent.state_dir == agent.stateDir)
                #expect(report.host.cpu_count > 0)
                #expect((report.host.memory_total_bytes ?? 0) > 0)
                #expect((report.host.memory_available_bytes ?? 0) > 0)
                #expect(report.host.load_average.count == 3)
                #expect(report.host.disks.map(\.path) == ["/", agent.stateDir])
                #expect(report.host.disks.allSatisfy { $0.total_bytes > 0 })
                #expect(report.gpu == gpu)
                #expect(report.parts["sshd"]?.details["fingerprint_ed25519"] == "SHA256:abc")
                #expect(report.ready)
            }
        }
    }

    @Test func noGPUSaysWhy() async throws {
        let agent = try Self.makeAgent()
        await agent.gpu.refresh()
        let app = Application(router: agent.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                let body = try Self.decode(response.body)
                let gpu = try #require(body["gpu"] as? [String: Any])
                #expect(gpu["available"] as? Bool == false)
                #expect(gpu["reason"] as? String == "no GPU in this test (fake probe)")
            }
        }
    }

    @Test func unknownRouteIs404AndWrongMethodIs405() async throws {
        let app = Application(router: try Self.makeAgent().buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                let body = try Self.decode(response.body)
                #expect(body["error"] is String)
            }
            try await client.execute(uri: "/v2/health/live", method: .post) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
                let body = try Self.decode(response.body)
                #expect((body["error"] as? String)?.contains("POST") == true)
            }
            try await client.execute(uri: "/metrics", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
            }
        }
    }

    @Test func metricsCountRequestsAndReportGPU() async throws {
        let gpu = GPUReport(
            available: true, source: "nvml", reason: nil,
            devices: [GPUDevice(index: 0, name: "Fake", uuid: "GPU-f", memory_total_mib: 1000, memory_used_mib: 250,
                                memory_free_mib: 750, utilization_percent: 33, temperature_c: nil)])
        let agent = try Self.makeAgent(gpu: gpu)
        await agent.gpu.refresh()
        let app = Application(router: agent.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/health/live", method: .get) { _ in }
            try await client.execute(uri: "/v2/health/live", method: .get) { _ in }
            try await client.execute(uri: "/nope", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains(#"podagent_http_requests_total{route="/v2/health/live",method="GET",status="200"} 2"#))
                #expect(text.contains(#"status="404"} 1"#))
                #expect(text.contains(#"podagent_http_request_duration_seconds_bucket{route="/v2/health/live",method="GET""#))
                #expect(text.contains("podagent_uptime_seconds "))
                #expect(text.contains(#"podagent_gpu_memory_used_mebibytes{gpu="0",uuid="GPU-f"} 250"#))
                #expect(text.contains(#"podagent_gpu_utilization_percent{gpu="0",uuid="GPU-f"} 33"#))
                #expect(!text.contains("podagent_gpu_temperature"))
            }
        }
    }
}
