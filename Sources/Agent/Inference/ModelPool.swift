#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import Plugins

/// One model's instances and its bounded queue: one request in flight per instance, the rest wait in
/// arrival order up to the queue limit. It starts, restarts and stops the workers, counts failures
/// for the crash-loop rule, and keeps the model's state (READY, LOADING, UNLOADING, UNAVAILABLE).
///
/// A `warm` model's instance is a ``WorkerProcess``; a `oneshot` model's instance is a slot that
/// runs one process per request (see ``OneshotRun``).
actor ModelPool {
    /// A request's hold on one instance until it gives it back.
    struct Lease: Sendable {
        let slotID: Int
        let index: Int
        let gpu: String?
        let worker: WorkerProcess?
        let plan: WorkerLaunchPlan
    }

    struct Slot {
        let id: Int
        let index: Int
        let gpu: String?
        let plan: WorkerLaunchPlan
        var worker: WorkerProcess?
        var state = SlotState.starting
        /// Left to finish its request, then stopped (reload, unload).
        var retiring = false
        var pid: Int32?
        var restarts = 0
        var lastError: String?
        var loadSeconds: Double?
        var gpuMemoryMiB: Double?
        /// The uid the worker runs as (what it reported, else what it was started as).
        var uid: Int?
        var backoff: RestartBackoff
        var startedAt: ContinuousClock.Instant = .now
    }

    enum State: String { case ready = "READY", loading = "LOADING", unloading = "UNLOADING", unavailable = "UNAVAILABLE" }

    /// One instance's state; the repository index shows its raw value (`stopping` while retiring).
    enum SlotState: String {
        case starting, idle, busy, restarting, failed
    }

    let manifest: PluginManifest
    let settings: EngineSettings
    private(set) var state: State = .unavailable
    private(set) var reason: String?
    private var slots: [Int: Slot] = [:]
    private var nextSlotID = 0
    private var current: WorkerLaunchPlan
    private var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Lease, any Error>)] = []
    private var nextTicket: UInt64 = 0
    private var failures: [ContinuousClock.Instant] = []
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    /// Workers being stopped after their slot was removed.
    private var stopping = 0
    /// Bumped by every load and unload, so a restart scheduled before one does not revive old slots.
    private var epoch = 0

    init(manifest: PluginManifest, plan: WorkerLaunchPlan, settings: EngineSettings, reason: String) {
        self.manifest = manifest
        self.current = plan
        self.settings = settings
        self.reason = reason
    }

    var name: String { manifest.name }
    private var isOneshot: Bool { manifest.worker.mode == .oneshot }
    private var log: Logger { settings.logger }

    // MARK: - Requests

    /// Waits for a free instance.
    /// - Throws: `.notReady` when the model does not serve, `.overloaded` when the queue is full,
    ///   `.cancelled` when the calling task is cancelled while it waits.
    func acquire() async throws(AgentError) -> Lease {
        guard serving else { throw notReadyError() }
        if let lease = takeIdle() { return lease }
        guard waiters.count < settings.queueLimit else {
            throw AgentError(
                .overloaded, "model \(name): \(waiters.count) requests are already waiting for \(activeSlots.count) instances (queue limit \(settings.queueLimit))",
                retryAfterSeconds: max(1, Int(manifest.timeoutSeconds.rounded(.up) / 10)))
        }
        nextTicket &+= 1
        let ticket = nextTicket
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                    waiters.append((ticket, continuation))
                }
            } onCancel: {
                Task { await self.cancelWaiter(ticket) }
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.internalError, "model \(name): \(error)")
        }
    }

    /// Gives an instance back after a request that left its worker healthy.
    func release(_ lease: Lease, gpuMemoryMiB: Double? = nil) {
        guard var slot = slots[lease.slotID] else { return }
        if let gpuMemoryMiB { slot.gpuMemoryMiB = gpuMemoryMiB }
        if slot.retiring {
            // Its request is done: no longer busy, so retire stops it now (a busy slot would wait forever).
            slot.state = .idle
            slots[lease.slotID] = slot
            retire(slotID: lease.slotID)
            return
        }
        slot.state = .idle
        slots[lease.slotID] = slot
        dispatch()
    }

    /// Why the lease's worker ended, when an unload ended it (`cancelRunning`); nil otherwise.
    func endedByUnload(_ lease: Lease) -> String? {
        guard state == .unloading, slots[lease.slotID]?.retiring == true else { return nil }
        return "model \(name) was unloaded while the request ran; its worker was ended (\(reason ?? "unloading"))"
    }

    /// The leased instance's worker ended (crash, kill, timeout, cancel): restart it, holding the lease.
    /// - Parameter countsAsCrash: the worker failed by itself (counts toward the crash-loop rule).
    /// - Returns: the lease on the restarted worker.
    /// - Throws: `.notReady` when the model went into a crash loop or was unloaded meanwhile.
    func restart(_ lease: Lease, reason: String, countsAsCrash: Bool) async throws(AgentError) -> Lease {
        let delay = try beginRestart(lease, reason: reason, countsAsCrash: countsAsCrash)
        return try await finishRestart(lease, after: delay)
    }

    /// Like ``restart(_:reason:countsAsCrash:)``, but only the bookkeeping is awaited (the failure is
    /// counted before this returns); the worker starts in the background and its slot is then offered again.
    func restartInBackground(_ lease: Lease, reason: String, countsAsCrash: Bool) {
        guard let delay = try? beginRestart(lease, reason: reason, countsAsCrash: countsAsCrash) else { return }
        Task {
            if let lease = try? await self.finishRestart(lease, after: delay) { self.release(lease) }
        }
    }

    /// Marks the slot restarting and counts the failure; returns the backoff delay.
    private func beginRestart(_ lease: Lease, reason: String, countsAsCrash: Bool) throws(AgentError) -> Duration {
        guard var slot = slots[lease.slotID] else { throw notReadyError() }
        slot.lastError = reason
        slot.state = .restarting
        slot.pid = nil
        let delay = slot.backoff.next(afterRunning: .now - slot.startedAt)
        slots[lease.slotID] = slot
        if countsAsCrash, recordFailure(reason) { throw notReadyError() }
        if slot.retiring || !serving {
            retire(slotID: lease.slotID)
            throw notReadyError()
        }
        return delay
    }

    private func finishRestart(_ lease: Lease, after delay: Duration) async throws(AgentError) -> Lease {
        if delay > .zero { try? await Task.sleep(for: delay) }
        let startEpoch = epoch
        do {
            try await startSlot(lease.slotID, held: true)
        } catch {
            if epoch == startEpoch, recordFailure("restart failed: \(error.message)") { throw notReadyError() }
            // Try again later, still holding the slot, unless the model stopped serving.
            if let slot = slots[lease.slotID], serving, !slot.retiring {
                return try await restart(lease, reason: "restart failed: \(error.message)", countsAsCrash: false)
            }
            throw error
        }
        guard let restarted = slots[lease.slotID], serving else { throw notReadyError() }
        slots[lease.slotID]?.restarts += 1
        return Lease(slotID: restarted.id, index: restarted.index, gpu: restarted.gpu, worker: restarted.worker, plan: restarted.plan)
    }

    // MARK: - Lifecycle

    /// Starts the model's instances with `plan` at the GPUs `gpus` and returns once all are ready.
    /// A model that serves keeps serving on its old instances until the new ones are ready; then the
    /// old ones finish their requests and stop.
    func load(plan: WorkerLaunchPlan, gpus: [String?]) async throws(AgentError) {
        guard state != .loading, state != .unloading else {
            throw AgentError(.conflict, "model \(name) is \(state.rawValue.lowercased()); try again when that is done")
        }
        epoch += 1
        let wasServing = serving
        if !wasServing {
            state = .loading
            reason = "loading: starting \(gpus.count) instance(s)"
            failures = []
        }
        publish()
        let newIDs = gpus.enumerated().map { index, gpu in
            addSlot(index: index, gpu: gpu, plan: plan)
        }
        var problem: AgentError?
        await withTaskGroup(of: AgentError?.self) { group in
            for id in newIDs {
                group.addTask {
                    do throws(AgentError) {
                        try await self.startSlot(id)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            for await error in group where problem == nil {
                problem = error
            }
        }
        if let problem {
            for id in newIDs { retire(slotID: id) }
            if !wasServing {
                state = .unavailable
                reason = "load failed: \(problem.message)"
                failWaiters()
            }
            publish()
            throw AgentError(.unavailable, "model \(name): load failed: \(problem.message)")
        }
        current = plan
        for (id, slot) in slots where !newIDs.contains(id) && !slot.retiring {
            retire(slotID: id)
        }
        state = .ready
        reason = nil
        failures = []
        publish()
        dispatch()
    }

    /// Refuses the queued requests, lets running ones finish (or, with `cancelRunning`, ends their
    /// workers so they answer 503 at once), and stops every instance.
    ///
    /// An explicit unload is the operator's choice: the model stops counting for the pod's readiness
    /// from the start, so readiness never drops because of it. If the calling task is cancelled (a
    /// shutdown past its deadline), the remaining workers are killed and the drain ends there.
    func unload(reason why: String, cancelRunning: Bool = false) async {
        epoch += 1
        state = .unloading
        reason = cancelRunning ? "unloading: requests in flight were cancelled" : "unloading"
        settings.readiness.remove(ModelChecksService.partName(name))
        failWaiters(message: "model \(name) is being unloaded")
        for id in slots.keys { retire(slotID: id) }
        if cancelRunning { killRetiringWorkers() }
        if !slots.isEmpty || stopping > 0 {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    if Task.isCancelled { continuation.resume() } else { drainWaiters.append(continuation) }
                }
            } onCancel: {
                Task { await self.abandonDrain() }
            }
        }
        state = .unavailable
        reason = why
        settings.readiness.remove(ModelChecksService.partName(name))
    }

    /// Ends the process groups of the slots still busy while retiring: their requests see the worker
    /// end, find the slot retiring, and answer 503 instead of retrying.
    private func killRetiringWorkers() {
        for slot in slots.values where slot.retiring {
            guard let worker = slot.worker else { continue }
            Task { if let group = await worker.processGroup { kill(-group, SIGKILL) } }
        }
    }

    /// The drain was cut short: kill what still runs and let the unload return.
    private func abandonDrain() {
        log.warning("unload cut short: killing the workers still busy", metadata: ["model": "\(name)", "instances": "\(slots.count)"])
        killRetiringWorkers()
        let pending = drainWaiters
        drainWaiters = []
        for waiter in pending { waiter.resume() }
    }

    /// Marks the model unavailable without starting it (checks failed, placement impossible).
    /// - Parameter publishing: false keeps the readiness part as it is (the checks already said why).
    func markUnavailable(_ why: String, publishing: Bool = true) {
        state = .unavailable
        reason = why
        if publishing { publish() }
    }

    /// What the repository index shows.
    func status(queueLimit: Int) -> ModelStatus {
        let instances = slots.values.sorted { ($0.retiring ? 1 : 0, $0.index, $0.id) < ($1.retiring ? 1 : 0, $1.index, $1.id) }.map { slot in
            InstanceStatus(
                index: slot.index, gpu: slot.gpu, pid: slot.pid, state: slot.retiring ? "stopping" : slot.state.rawValue,
                restarts: slot.restarts, lastError: slot.lastError, loadSeconds: slot.loadSeconds, gpuMemoryMiB: slot.gpuMemoryMiB,
                uid: slot.uid)
        }
        return ModelStatus(
            state: state.rawValue, name: name, version: manifest.version, reason: reason, config: current.config,
            checkpoint: current.checkpoint, instances: instances, queued: waiters.count, queueLimit: queueLimit)
    }

    // MARK: - Internals

    private var serving: Bool { state == .ready || (state == .loading && !activeSlots.isEmpty) }
    private var activeSlots: [Slot] { slots.values.filter { !$0.retiring } }

    private func notReadyError() -> AgentError {
        AgentError(.notReady, "model \(name) is not ready: \(reason ?? state.rawValue.lowercased())")
    }

    private func takeIdle() -> Lease? {
        guard let slot = slots.values.filter({ !$0.retiring && $0.state == .idle }).min(by: { $0.index < $1.index }) else { return nil }
        slots[slot.id]?.state = .busy
        return Lease(slotID: slot.id, index: slot.index, gpu: slot.gpu, worker: slot.worker, plan: slot.plan)
    }

    private func dispatch() {
        while !waiters.isEmpty, let lease = takeIdle() {
            waiters.removeFirst().continuation.resume(returning: lease)
        }
    }

    private func cancelWaiter(_ ticket: UInt64) {
        guard let position = waiters.firstIndex(where: { $0.ticket == ticket }) else { return }
        waiters.remove(at: position).continuation.resume(throwing: AgentError(.cancelled, "model \(name): the request was cancelled while queued"))
    }

    private func failWaiters(message: String? = nil) {
        let error = AgentError(.notReady, message ?? "model \(name) is not ready: \(reason ?? state.rawValue.lowercased())")
        let pending = waiters
        waiters = []
        for waiter in pending { waiter.continuation.resume(throwing: error) }
    }

    private func addSlot(index: Int, gpu: String?, plan: WorkerLaunchPlan) -> Int {
        nextSlotID += 1
        var backoff = RestartBackoff()
        backoff.initial = settings.restartBackoffInitial
        backoff.maximum = settings.restartBackoffMax
        backoff.resetAfter = settings.crashLoopWindow
        slots[nextSlotID] = Slot(id: nextSlotID, index: index, gpu: gpu, plan: plan, backoff: backoff)
        return nextSlotID
    }

    /// Starts (or restarts) the slot's worker; oneshot slots have none and are ready at once.
    private func startSlot(_ id: Int, held: Bool = false) async throws(AgentError) {
        guard let slot = slots[id] else { throw notReadyError() }
        slots[id]?.startedAt = .now
        if isOneshot {
            slots[id]?.state = held ? .busy : .idle
            return
        }
        let identity: ProcessIdentity?
        let executable: String, arguments: [String]
        do {
            identity = try settings.workerUser.identity()
            (executable, arguments) = try slot.plan.command(searchPath: settings.baseEnvironment["PATH"], identity: identity)
        } catch {
            slots[id]?.state = .failed
            slots[id]?.lastError = error.message
            throw AgentError(.unavailable, "instance \(slot.index): \(error.message)")
        }
        let launch = WorkerProcess.Launch(
            name: "\(name)/\(slot.index)", executable: executable, arguments: arguments,
            environment: slot.plan.environment(base: settings.baseEnvironment, instance: slot.index, gpu: slot.gpu),
            readyTimeout: settings.loadTimeout, killGrace: settings.killGrace, identity: identity)
        let worker = WorkerProcess(launch: launch, supervisor: settings.supervisor, logger: log)
        slots[id]?.worker = worker
        slots[id]?.state = .starting
        let ready: WorkerProcess.Ready
        do {
            ready = try await worker.start()
        } catch {
            let message = Self.describe(error)
            log.error("worker failed to start", metadata: ["model": "\(name)", "instance": "\(slot.index)", "error": "\(message)"])
            slots[id]?.state = .failed
            slots[id]?.lastError = message
            await Task { await worker.stop() }.value  // a start cut short (cancelled) leaves it running
            if let group = await worker.processGroup {
                kill(-group, SIGKILL)
                await settings.onWorkerKilled(name, group)
            }
            throw AgentError(.unavailable, "instance \(slot.index): \(message)")
        }
        guard slots[id] != nil else {
            // Retired while it loaded (unload during a start).
            await stopWorker(worker)
            throw notReadyError()
        }
        slots[id]?.pid = await worker.pid
        slots[id]?.loadSeconds = ready.loadSeconds
        slots[id]?.gpuMemoryMiB = ready.gpuMemoryMiB
        slots[id]?.uid = ready.uid ?? identity.map { Int($0.uid) } ?? Int(geteuid())
        // A restart holds the slot for its request; a fresh start offers it at once.
        slots[id]?.state = held ? .busy : .idle
        log.info("worker ready", metadata: [
            "model": "\(name)", "instance": "\(slot.index)", "pid": "\(ready.pid)", "gpu": "\(slot.gpu ?? "none")",
            "load_s": "\(ready.loadSeconds)", "uid": "\(slots[id]?.uid.map(String.init) ?? "?")",
        ])
        watch(worker, slotID: id)
    }

    /// Restarts a worker that ends while it has no request (a request's own failure is handled by the request).
    private nonisolated func watch(_ worker: WorkerProcess, slotID: Int) {
        Task {
            guard let status = await worker.waitForExit() else { return }
            await self.exitedWhileIdle(worker, slotID: slotID, status: status)
        }
    }

    private func exitedWhileIdle(_ worker: WorkerProcess, slotID: Int, status: ExitStatus) async {
        guard let slot = slots[slotID], slot.worker === worker, slot.state == .idle, !slot.retiring, serving else { return }
        let reason = "worker exited while idle: \(status)"
        log.error("worker exited while idle", metadata: ["model": "\(name)", "instance": "\(slot.index)", "status": "\(status)"])
        if let group = await worker.processGroup { await settings.onWorkerKilled(name, group) }
        slots[slotID]?.state = .busy  // held by the restart, like a request would hold it
        restartInBackground(
            Lease(slotID: slot.id, index: slot.index, gpu: slot.gpu, worker: worker, plan: slot.plan), reason: reason, countsAsCrash: true)
    }

    /// Counts one worker failure; true when that makes a crash loop (the model is then unavailable).
    private func recordFailure(_ why: String) -> Bool {
        let now = ContinuousClock.now
        failures.append(now)
        failures.removeAll { now - $0 > settings.crashLoopWindow }
        guard failures.count >= settings.crashLoopFailures, state == .ready || state == .loading else { return false }
        state = .unavailable
        reason = "crash loop: \(failures.count) worker failures within \(settings.crashLoopWindow); last: \(why)"
        log.error("model in a crash loop: not ready", metadata: ["model": "\(name)", "reason": "\(reason ?? "")"])
        failWaiters()
        epoch += 1
        for id in slots.keys { retire(slotID: id) }
        publish()
        return true
    }

    /// Stops a slot now if it has no request, else when its request gives it back.
    private func retire(slotID: Int) {
        guard var slot = slots[slotID] else { return }
        slot.retiring = true
        if slot.state == .busy {
            slots[slotID] = slot
            return
        }
        slots.removeValue(forKey: slotID)
        let worker = slot.worker
        stopping += 1
        Task {
            if let worker { await self.stopWorker(worker) }
            self.stopping -= 1
            self.retired()
        }
    }

    private func retired() {
        guard slots.isEmpty, stopping == 0 else { return }
        let pending = drainWaiters
        drainWaiters = []
        for waiter in pending { waiter.resume() }
    }

    /// Asks the worker to exit, ends its group after the grace, and tells the reclaim hook.
    private func stopWorker(_ worker: WorkerProcess) async {
        let group = await worker.processGroup
        await Task { await worker.stop() }.value
        if let group { await settings.onWorkerKilled(name, group) }
    }

    /// Reports the model's state as the readiness part `model:<name>` (the part ModelChecksService starts).
    private func publish() {
        let details = [
            "state": state.rawValue, "instances": "\(activeSlots.count)",
            "gpus": activeSlots.sorted { $0.index < $1.index }.map { $0.gpu ?? "none" }.joined(separator: ","),
        ]
        settings.readiness.update(
            ModelChecksService.partName(name),
            PartStatus(ready: state == .ready, state: state.rawValue.lowercased(), reason: state == .ready ? nil : reason, details: details))
    }

    static func describe(_ failure: WorkerProcess.Failure) -> String {
        switch failure {
        case .exited(let status, let tail): "worker \(status)" + (tail.isEmpty ? "" : "; stderr tail:\n\(tail)")
        case .timedOut(let duration): "worker did not answer within \(duration)"
        case .loadFailed(let message, let traceback): "load failed: \(message)" + (traceback.isEmpty ? "" : "\n\(traceback)")
        case .answered(let kind, let message, _): "\(kind): \(message)"
        case .protocolViolation(let message): message
        }
    }
}
