import Foundation
import Plugins
import Testing

@testable import Agent

/// The engine over real Demo worker processes (synthetic model: no GPU or weights here) through the real Supervisor.
@Suite("Inference engine: requests (synthetic Demo workers)")
struct InferenceEngineTests {
    typealias S = InferenceTestSupport

    @Test func eachRawFormatEndToEndThroughTheDemoParser() async throws {
        let (engine, readiness, _) = try S.engine()
        let status = try await engine.load("Demo", overrides: ModelOverrides())
        #expect(status.state == "READY")
        #expect(readiness.snapshot["model:Demo"]?.ready == true)
        let pid = try #require(status.instances.first?.pid)
        for format in ["maptr", "petr", "streampetr", "topomlp", "vad"] {
            let outcome = try await engine.infer(try S.request("r-\(format)", options: ["raw_format": format, "detections": 40]))
            let result = outcome.result
            #expect(result.meta.model == "Demo")
            #expect(result.meta.warnings.first?.contains("synthetic") == true)
            #expect(outcome.attempts == 1)
            #expect(outcome.timings.total_s >= outcome.timings.inference_s)
            switch format {
            case "maptr": #expect(result.mapElements?.count == 40)
            case "petr": #expect(result.detections?.count == 40 && result.meta.boxConvention == "mmdet3d-0.17")
            case "streampetr": #expect(result.detections?.count == 40 && result.meta.boxConvention == "mmdet3d-1.0")
            case "vad":
                #expect(result.detections?.count == 40)
                #expect(result.mapElements?.count == 50)
            default: #expect(result.laneCenterlines?.count == 300)
            }
        }
        // One warm process answered all of them.
        #expect(await engine.status(of: "Demo")?.instances.first?.pid == pid)
        _ = try await engine.unload("Demo")
    }

    @Test func unknownModelIsNotFoundAndAnUnloadedOneNotReady() async throws {
        let (engine, _, _) = try S.engine()
        var request = try S.request("x")
        request.model = "yolo"
        #expect(await S.failure { () throws(AgentError) in _ = try await engine.infer(request) }?.code == .notFound)
        let notLoaded = await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("y")) }
        #expect(notLoaded?.code == .notReady)
        #expect(notLoaded?.message.contains("not started yet") == true)
    }

    @Test func crashMidRequestIsRetriedOnARestartedWorkerAndSucceeds() async throws {
        let (engine, _, killed) = try S.engine()
        let first = try await engine.load("Demo", overrides: ModelOverrides())
        let oldPID = try #require(first.instances.first?.pid)
        let marker = try TestSupport.workerWritableDirectory("once") + "/crashed"
        let outcome = try await engine.infer(try S.request("crash-once", options: ["fail": "crash", "fail_once_file": marker]))
        #expect(outcome.attempts == 2)
        #expect(outcome.result.detections != nil)
        #expect(killed.groups.contains(oldPID))
        let after = try #require(await engine.status(of: "Demo")?.instances.first)
        #expect(after.pid != oldPID && after.restarts == 1)
        #expect(after.lastError?.contains("17") == true)  // the injected crash's exit code
        _ = try await engine.unload("Demo")
    }

    @Test func badInputIsNeverRetriedAndModelErrorsCarryTheMessage() async throws {
        let (engine, _, _) = try S.engine()
        let pid = try #require(try await engine.load("Demo", overrides: ModelOverrides()).instances.first?.pid)
        let bad = await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("b", options: ["raw_format": "yolo"])) }
        #expect(bad?.code == .invalidArgument && bad?.message.contains("yolo") == true)
        let model = await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("e", options: ["fail": "error"])) }
        #expect(model?.code == .internalError && model?.message.contains("injected model failure") == true)
        let oom = await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("o", options: ["fail": "oom"])) }
        #expect(oom?.code == .internalError && oom?.message.contains("oom") == true)
        let status = try #require(await engine.status(of: "Demo")?.instances.first)
        #expect(status.pid == pid && status.restarts == 0)  // answers, not crashes: same worker
        _ = try await engine.unload("Demo")
    }

    @Test func hangReachesTheTimeoutEndsTheGroupAndTheNextRequestSucceeds() async throws {
        let (engine, _, killed) = try S.engine()
        let oldPID = try #require(try await engine.load("Demo", overrides: ModelOverrides()).instances.first?.pid)
        let failure = await S.failure { () throws(AgentError) in
            _ = try await engine.infer(try! S.request("hang", options: ["fail": "hang"], timeout: .seconds(1)))
        }
        #expect(failure?.code == .timeout)
        #expect(failure?.message.contains("process group was ended") == true)
        #expect(killed.groups.contains(oldPID))
        #expect(S.processes(inGroup: oldPID).isEmpty, "processes of the hung worker's group are left: \(S.processes(inGroup: oldPID))")
        let next = try await engine.infer(try S.request("after-hang"))
        #expect(next.result.detections != nil)
        #expect(await engine.status(of: "Demo")?.instances.first?.pid != oldPID)
        _ = try await engine.unload("Demo")
    }

    @Test func aFullQueueIsOverloadedWithRetryAfter() async throws {
        let (engine, _, _) = try S.engine { $0.inference.queueLimit = 1 }
        _ = try await engine.load("Demo", overrides: ModelOverrides())
        // Long enough that the second request is queued behind it even when a loaded machine starts its task late.
        let running = Task { try await engine.infer(try S.request("slow", options: ["infer_time_s": 8])) }
        #expect(await eventually { await engine.status(of: "Demo")?.instances.first?.state == "busy" })
        let queued = Task { try await engine.infer(try S.request("queued")) }
        #expect(await eventually { await engine.status(of: "Demo")?.queued == 1 })
        let refused = await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("third")) }
        #expect(refused?.code == .overloaded)
        #expect((refused?.retryAfterSeconds ?? 0) >= 1)
        _ = try await running.value
        let second = try await queued.value
        #expect(second.timings.queue_s > 0)
        _ = try await engine.unload("Demo")
    }

    @Test func cancellingAQueuedRequestRemovesItFromTheQueue() async throws {
        let (engine, _, _) = try S.engine()
        _ = try await engine.load("Demo", overrides: ModelOverrides())
        // Long enough that the queued request is still queued when it is cancelled, even on a loaded machine.
        let running = Task { try await engine.infer(try S.request("slow", options: ["infer_time_s": 8])) }
        #expect(await eventually { await engine.status(of: "Demo")?.instances.first?.state == "busy" })
        let queued = Task { () async -> AgentError? in
            await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("to-cancel")) }
        }
        #expect(await eventually { await engine.status(of: "Demo")?.queued == 1 })
        queued.cancel()
        #expect(await queued.value?.code == .cancelled)
        #expect(await engine.status(of: "Demo")?.queued == 0)
        _ = try await running.value  // the running request was not disturbed
        _ = try await engine.unload("Demo")
    }

    @Test func cancellingARunningRequestEndsTheWorkerGroupAndRestartsIt() async throws {
        let (engine, _, killed) = try S.engine()
        let oldPID = try #require(try await engine.load("Demo", overrides: ModelOverrides()).instances.first?.pid)
        let running = Task { () async -> AgentError? in
            await S.failure { () throws(AgentError) in _ = try await engine.infer(try! S.request("long", options: ["infer_time_s": 60])) }
        }
        #expect(await eventually { await engine.status(of: "Demo")?.instances.first?.state == "busy" })
        running.cancel()
        let error = await running.value
        #expect(error?.code == .cancelled)
        #expect(killed.groups.contains(oldPID))
        #expect(S.processes(inGroup: oldPID).isEmpty)
        let next = try await engine.infer(try S.request("after-cancel"))
        #expect(next.result.detections != nil)
        _ = try await engine.unload("Demo")
    }
}
