@testable import Controller
import Foundation
import SSHClient
import Testing
import TestProcesses

/// podctl exec against 16 real sshd instances over real libssh sessions.
@Suite("Exec over real sshd")
struct ExecTests {
    let fleet = SSHDFleet.shared

    @Test func streamsOutputAndExitCodesFromSixteenPods() throws {
        let request = ExecRequest(command: #"echo "hello from $POD_NAME"; echo "warn $POD_NAME" >&2; [ "$POD_NAME" = pod05 ] && exit 3; exit 0"#)
        let results = ExecRunner.run(pods: fleet.pods, request: request, settings: fleet.settings())
        #expect(results.count == 16)
        for result in results {
            #expect(String(decoding: result.stdout, as: UTF8.self) == "hello from \(result.pod.name)\n")
            #expect(String(decoding: result.stderr, as: UTF8.self) == "warn \(result.pod.name)\n")
            #expect(result.status == (result.pod.name == "pod05" ? .failed : .ok), "\(result.pod.name): \(result.errorMessage ?? "")")
            #expect(result.exitCode == (result.pod.name == "pod05" ? 3 : 0))
        }
        let summary = RunSummary(results)
        #expect(summary.exitStatus(maxRemoteCode: false) == 1)
        #expect(summary.exitStatus(maxRemoteCode: true) == 3)
        #expect(summary.lines.contains("failed: pod05 (exit 3)"))
        #expect(summary.lines.contains("ok: pod[01-04,06-16]"))
    }

    @Test func gatherFoldsIdenticalOutputAndExitCode() throws {
        let request = ExecRequest(command: #"case "$POD_NAME" in pod03|pod04) echo odd-one; exit 1;; *) echo same;; esac"#)
        let results = ExecRunner.run(pods: fleet.pods, request: request, settings: fleet.settings())
        let blocks = Gather.blocks(results)
        #expect(blocks.count == 2)
        #expect(blocks.map(\.header) == ["pod[01-02,05-16]", "pod[03-04]"])
        #expect(blocks.map(\.exitCode) == [0, 1])
        let text = Gather.render(blocks)
        #expect(text.contains("pod[01-02,05-16] (exit 0)\n---------------\nsame\n"))
        #expect(text.contains("pod[03-04] (exit 1)\n---------------\nodd-one\n"))
    }

    @Test func exitSignalIsReportedNotMinusOne() throws {
        let results = ExecRunner.run(pods: [fleet.pods[0]], request: ExecRequest(command: "kill -KILL $$"), settings: fleet.settings())
        let result = try #require(results.first)
        #expect(result.status == .failed)
        #expect(result.signal == "KILL")
        #expect(result.scriptCode == 137)
    }

    @Test func unreachableAndHangingPodsDoNotHoldUpTheOthers() throws {
        let dead = Pod(name: "pod99", host: "127.0.0.1", port: Shell.freePort(), user: "root", identity: fleet.clientKey)
        // GNU sleep takes fractions: a random one tags the process for pgrep.
        let marker = "sleep 600.\(UInt32.random(in: 1...UInt32.max))"
        let request = ExecRequest(command: #"[ "$POD_NAME" = pod07 ] && exec \#(marker); echo fine"#, timeout: 8, fanout: 8)
        let start = ContinuousClock.now
        let results = ExecRunner.run(pods: fleet.pods + [dead], request: request, settings: fleet.settings())
        let elapsed = ContinuousClock.now - start
        let byName = Dictionary(uniqueKeysWithValues: results.map { ($0.pod.name, $0) })
        #expect(byName["pod99"]?.status == .unreachable)
        #expect(byName["pod07"]?.status == .timedOut)
        #expect(byName["pod07"]?.remoteKilled == true)
        #expect((byName["pod07"]?.runMs ?? 0) >= 8000)
        for result in results where !["pod07", "pod99"].contains(result.pod.name) {
            #expect(result.status == .ok, "\(result.pod.name): \(result.errorMessage ?? "")")
            // The others must not wait for the hanging pod's timeout.
            #expect(result.totalMs > 0 && result.totalMs < 8000, "\(result.pod.name) took \(result.totalMs) ms")
        }
        #expect(elapsed < .seconds(30))
        let summary = RunSummary(results)
        #expect(summary.exitStatus(maxRemoteCode: false) == 1)
        #expect(summary.exitStatus(maxRemoteCode: true) == 255)
        #expect(summary.lines.first == "17 pods: 15 ok, 0 failed, 1 unreachable, 1 timed out")
        #expect(summary.lines.contains { $0.hasPrefix("unreachable: pod99: cannot connect") })
        #expect(summary.lines.contains { $0.hasPrefix("timed out: pod07:") })
        let leftover = try Shell.run(["/usr/bin/pgrep", "-f", marker])
        #expect(leftover.status == 1, "still running: \(leftover.stdout)")
    }

    @Test func commandTimeoutLeavesNoRemoteProcess() throws {
        let marker = "\(UInt32.random(in: 1...UInt32.max))"
        // A background child, a grandchild in a subshell, and one that ignores SIGHUP and SIGTERM
        // (GNU sleep takes fractions: the random part tags the processes for pgrep).
        let command = "sleep 1001.\(marker) & (sleep 1002.\(marker)) & sh -c 'trap \"\" HUP TERM; sleep 1003.\(marker)'"
        let results = ExecRunner.run(pods: [fleet.pods[1]], request: ExecRequest(command: command, timeout: 2),
                                     settings: fleet.settings())
        let result = try #require(results.first)
        #expect(result.status == .timedOut)
        #expect(result.remoteKilled)
        let before = try Shell.run(["/usr/bin/pgrep", "-af", "sleep 100[123].\(marker)"])
        #expect(before.status == 1, "remote processes survived: \(before.stdout)")
    }

    @Test func commandPastItsTimeoutIsTimedOutNotUnreachable() throws {
        let marker = "sleep 30.\(UInt32.random(in: 1...UInt32.max))"
        let dead = Pod(name: "pod98", host: "127.0.0.1", port: Shell.freePort(), user: "root", identity: fleet.clientKey)
        let results = ExecRunner.run(pods: [fleet.pods[4], dead], request: ExecRequest(command: marker, timeout: 2),
                                     settings: fleet.settings())
        let ran = try #require(results.first)
        #expect(ran.status == .timedOut, "\(ran.status): \(ran.errorMessage ?? "")")
        #expect(ran.scriptCode == 124)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(ran.jsonRecord.utf8)) as? [String: Any])
        #expect(record["status"] as? String == "timeout")
        #expect((record["error"] as? [String: Any])?["kind"] as? String == "timeout")
        let never = try #require(results.last)
        #expect(never.status == .unreachable, "\(never.status): \(never.errorMessage ?? "")")
        #expect(never.scriptCode == 255)
        let summary = RunSummary(results)
        #expect(summary.lines.first == "2 pods: 0 ok, 0 failed, 1 unreachable, 1 timed out")
        #expect(summary.lines.contains { $0.hasPrefix("timed out: pod05: no result after 2.0 s") })
        #expect(summary.lines.contains { $0.hasPrefix("unreachable: pod98: cannot connect") })
        #expect(summary.exitStatus(maxRemoteCode: true) == 255)
    }

    /// The pod stops answering after the session was made (its sshd processes frozen with SIGSTOP): the
    /// command request gets no answer within the connect timeout. That pod timed out; it was reached.
    @Test func podThatStopsAnsweringAfterConnectingTimedOut() throws {
        let dir = try Shell.temporaryDirectory("frozen-pod")
        let server = try OpenSSHServer(dir: dir, name: "frozen", authorizedKeys: "\(fleet.dir)/authorized_keys")
        defer { server.stop() }
        let knownHosts = "\(dir)/known_hosts"
        try (server.knownHostsLine + "\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        var settings = fleet.settings(knownHosts: knownHosts)
        settings.ssh.connectTimeout = 2
        let pod = Pod(name: "frozen", host: "127.0.0.1", port: server.port, user: "root", identity: fleet.clientKey)
        let start = ContinuousClock.now
        let session = try settings.connect(pod)
        let frozen = SSHDFleet.descendants(of: server.pid)
        #expect(!frozen.isEmpty)
        for pid in frozen { kill(pid, SIGSTOP) }
        defer { for pid in frozen { kill(pid, SIGKILL) } }
        let result = ExecRunner.run(ExecRequest(command: "true"), on: session, pod: pod, start: start, sink: nil)
        #expect(result.status == .timedOut, "\(result.status): \(result.errorMessage ?? "")")
        #expect(result.errorKind == "timeout")
        #expect(result.errorMessage?.contains("after connecting") == true, "\(result.errorMessage ?? "")")
        #expect(result.scriptCode == 124)
        #expect(RunSummary([result]).lines.first == "1 pods: 0 ok, 0 failed, 0 unreachable, 1 timed out")

        // Frozen before the connection is made (the listener too): never reached, so unreachable.
        let listener = try OpenSSHServer(dir: dir, name: "frozen2", authorizedKeys: "\(fleet.dir)/authorized_keys")
        defer { kill(listener.pid, SIGCONT); listener.stop() }
        kill(listener.pid, SIGSTOP)
        let stalled = Pod(name: "stalled", host: "127.0.0.1", port: listener.port, user: "root", identity: fleet.clientKey)
        let never = try #require(ExecRunner.run(pods: [stalled], request: ExecRequest(command: "true"), settings: settings).first)
        #expect(never.status == .unreachable, "\(never.status): \(never.errorMessage ?? "")")
    }

    @Test func jsonRecordCarriesEverything() throws {
        let result = try #require(ExecRunner.run(pods: [fleet.pods[2]], request: ExecRequest(command: "echo out; echo err >&2; exit 4"),
                                                 settings: fleet.settings()).first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.jsonRecord.utf8)) as? [String: Any])
        #expect(object["name"] as? String == "pod03")
        #expect(object["status"] as? String == "failed")
        #expect(object["exit_code"] as? Int == 4)
        #expect(object["stdout"] as? String == "out\n")
        #expect(object["stderr"] as? String == "err\n")
        let total = try #require(object["total_ms"] as? Double)
        let connect = try #require(object["connect_ms"] as? Double)
        #expect(total > 0 && connect > 0 && total >= connect)
        #expect(object["error"] is NSNull)
    }

    @Test func keepalivesGoOutWhileACommandIsQuiet() throws {
        let pod = fleet.debugPod
        func keepalives() -> Int {
            let log = (try? String(contentsOfFile: fleet.debugLog, encoding: .utf8)) ?? ""
            return log.components(separatedBy: "keepalive@openssh.com").count - 1
        }
        let before = keepalives()
        var settings = fleet.settings()
        settings.ssh.keepaliveInterval = 1
        let result = try #require(ExecRunner.run(pods: [pod], request: ExecRequest(command: "sleep 3.5; echo awake"), settings: settings).first)
        #expect(result.status == .ok, "\(result.errorMessage ?? "")")
        #expect(String(decoding: result.stdout, as: UTF8.self) == "awake\n")
        // sshd at DEBUG1 logs every global request it receives: one per quiet second, give or take scheduling.
        #expect(keepalives() - before >= 2, "sshd saw \(keepalives() - before) keepalives; log: \(fleet.debugLog)")
    }
}
