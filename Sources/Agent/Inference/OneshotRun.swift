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
import PodAgentExtras

/// One request of a `mode: oneshot` model: its command template run once, in a process group of
/// its own, with `{input}` (a JSON file holding the request's inputs) and `{output}` (where the script
/// writes the raw JSON) filled in. The same deadline and kill rules as a warm worker apply.
struct OneshotRun {
    let lease: ModelPool.Lease
    let settings: EngineSettings
    let model: String

    /// What a run produced, or how it failed (in the warm worker's terms, so retries treat both alike).
    enum Outcome {
        case raw(Data, seconds: Double)
        case failed(WorkerProcess.Failure)
        case cancelled
    }

    func run(requestID: String, inputs: Data, timeout: Duration) async -> Outcome {
        let directory = temporaryDirectory() + "podagent-oneshot-\(RandomID.uuid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = "\(directory)/input.json"
        let output = "\(directory)/output.json"
        let identity: ProcessIdentity?
        let executable: String, arguments: [String]
        do {
            identity = try settings.workerUser.identity()
            (executable, arguments) = try lease.plan.command(input: input, output: output, searchPath: settings.baseEnvironment["PATH"],
                                                             identity: identity)
        } catch {
            return .failed(.protocolViolation(error.message))
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try inputs.write(to: URL(fileURLWithPath: input), options: .atomic)
            // The script reads {input} and writes {output} here as the workers' user.
            if let identity {
                for path in [directory, input] where chown(path, identity.uid, identity.gid) != 0 {
                    throw AgentError(.system, "chown \(path) to \(identity): \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            let reason = (error as? AgentError)?.message ?? errorText(error)
            return .failed(.protocolViolation("cannot prepare the request's folder \(directory): \(reason)"))
        }
        var environment = lease.plan.environment(base: settings.baseEnvironment, instance: lease.index, gpu: lease.gpu)
        environment["PODAGENT_REQUEST_ID"] = requestID
        identity?.apply(to: &environment)
        let child: Child
        do {
            child = try settings.supervisor.spawn(ProcessSpec(
                executable: executable, arguments: arguments, environment: environment, stdin: .null, stdout: .pipe, stderr: .pipe,
                identity: identity))
        } catch {
            let user = identity.map { " as \($0)" } ?? ""
            return .failed(.protocolViolation("cannot start the oneshot command \(executable)\(user): \(error.message)"))
        }
        let tail = LineTail(limit: 40)
        let logger = settings.logger
        let name = "\(model)/oneshot"
        for handle in [child.stdout, child.stderr].compactMap({ $0 }) {
            PipeReader.forEachLine(handle) { line in
                tail.append(line)
                logger.info("\(line)", metadata: ["worker": "\(name)", "request_id": "\(requestID)"])
            }
        }
        let started = ContinuousClock.now
        enum Ending { case exited(ExitStatus), deadline, cancelled }
        let ending: Ending = await withTaskGroup(of: Ending.self) { group in
            group.addTask { .exited(await child.wait()) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .deadline
                } catch {
                    return .cancelled
                }
            }
            let first = await group.next() ?? .cancelled
            group.cancelAll()
            if case .exited = first { return first }
            // Past the deadline or cancelled: end the whole group (outside the cancelled task, so the grace holds).
            let grace = settings.killGrace
            _ = await Task { await child.terminate(grace: grace) }.value
            return first
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        switch ending {
        case .deadline:
            await settings.onWorkerKilled(model, child.processGroup ?? child.pid)
            return .failed(.timedOut(timeout))
        case .cancelled:
            await settings.onWorkerKilled(model, child.processGroup ?? child.pid)
            return .cancelled
        case .exited(let status):
            child.signalGroup(SIGKILL)  // whatever the script left behind in its group
            guard status.succeeded else { return .failed(.exited(status, stderrTail: tail.text)) }
            // The folder belongs to the script's user: never follow a link it may have put there.
            guard let data = Self.readRegularFile(output, owner: identity?.uid), !data.isEmpty else {
                return .failed(.answered(
                    kind: "model_error", message: "the oneshot command exited 0 but wrote nothing to {output}",
                    traceback: tail.text))
            }
            return .raw(data, seconds: seconds)
        }
    }
}

extension OneshotRun {
    /// The file's bytes when it is a regular file (not a symbolic link, never followed) owned by
    /// `owner` (when given); nil otherwise. podagent reads what a less privileged script wrote.
    static func readRegularFile(_ path: String, owner: uid_t?) -> Data? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        let handle = DescriptorHandle(fileDescriptor: fd)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, owner.map({ info.st_uid == $0 }) ?? true else { return nil }
        return handle.readToEnd()
    }
}
