@testable import Controller
import Foundation
import Synchronization
import Testing
import TestProcesses

/// `--persist` and the mux (issue 20) against real sshd pods of their own (restarted and frozen here, so not
/// the shared fleet), through the real podctl binary: each test gets its own XDG_RUNTIME_DIR, so its own mux.
/// Authentications are counted in sshd's own log ("Accepted publickey"), one line per connection.
@Suite("podctl --persist and the mux", .serialized)
struct MuxTests {
    static let fleet: SSHDFleet = {
        do { return try SSHDFleet(count: 4) } catch { fatalError("could not start the mux tests' sshd fleet: \(error)") }
    }()
    var fleet: SSHDFleet { Self.fleet }

    /// A fresh runtime directory, as systemd makes it (0700).
    private func runtimeDirectory() throws -> String {
        let path = try Shell.temporaryDirectory("runtime")
        chmod(path, 0o700)
        return path
    }

    private func inventory(_ entries: [(name: String, pod: Pod, identity: String)], in dir: String) throws -> String {
        let path = "\(dir)/fleet.yaml"
        let lines = entries.map { "  - {name: \($0.name), host: \($0.pod.host), port: \($0.pod.port), user: root, identity: \($0.identity)}" }
        try (["pods:"] + lines).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func inventory(_ pods: [Pod], in dir: String) throws -> String {
        try inventory(pods.map { ($0.name, $0, fleet.clientKey) }, in: dir)
    }

    @discardableResult
    private func podctl(_ arguments: [String], runtime: String, environment extra: [String: String] = [:],
                        timeout: Double = 120) throws -> Shell.Result {
        try Shell.run([Shell.binary("podctl")] + arguments, environment: Shell.environment(extra.merging(["XDG_RUNTIME_DIR": runtime]) { $1 }),
                      timeout: timeout)
    }

    private func stopMux(_ runtime: String) {
        _ = try? podctl(["mux", "stop"], runtime: runtime)
    }

    private func status(_ runtime: String) throws -> MuxStatus? {
        let result = try podctl(["mux", "status", "--json"], runtime: runtime)
        guard result.status == 0, result.stdout.hasPrefix("{") else { return nil }
        return try JSONDecoder().decode(MuxStatus.self, from: Data(result.stdout.utf8))
    }

    private func records(_ result: Shell.Result) throws -> [[String: Any]] {
        try result.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// Settings for in-process calls that go through the same mux as the binary (started as the binary).
    private func persistSettings(_ runtime: String) -> ConnectionSettings {
        // As the command line makes them (the ssh-agent allowed, none running), so the sessions are shared.
        var settings = fleet.settings()
        settings.ssh.useAgent = true
        settings.persist = PersistSettings(idle: 60, directory: "\(runtime)/podctl", serverCommand: [Shell.binary("podctl"), "mux", "serve"])
        return settings
    }

    @Test func commandsReuseOneAuthenticatedSessionPerPod() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let dir = try Shell.temporaryDirectory("mux-reuse")
        let fleetFile = try inventory(fleet.pods, in: dir)
        let target = ["-i", fleetFile, "--known-hosts", fleet.knownHosts]
        let command = #"echo "hello from $POD_NAME"; echo "warn $POD_NAME" >&2; [ "$POD_NAME" = pod02 ] && exit 3; exit 0"#
        // The same command without --persist, for comparison: same lines, same summary, same exit status.
        let direct = try podctl(["exec"] + target + ["--", command], runtime: runtime)
        let before = fleet.pods.map { fleet.logins($0).count }

        let persist = target + ["--persist", "60"]
        // The command that starts the mux has secrets in its environment; the mux must not keep them.
        let secrets = ["PODCTL_TOKEN": "token-\(UUID().uuidString)", "RUNPOD_API_KEY": "key-\(UUID().uuidString)"]
        let first = try podctl(["exec"] + persist + ["--", command], runtime: runtime, environment: secrets)
        #expect(first.status == 1 && direct.status == 1, "\(first.stderr)")
        #expect(Set(first.stdout.split(separator: "\n")) == Set(direct.stdout.split(separator: "\n")))
        #expect(first.stdout.split(separator: "\n").count == 4)
        #expect(Set(first.stderr.split(separator: "\n")) == Set(direct.stderr.split(separator: "\n")), "\(first.stderr)")
        #expect(first.stderr.contains("podctl: failed: pod02 (exit 3)"))

        let gathered = try podctl(["exec", "-b", "-S"] + persist + ["--", "echo same; exit 4"], runtime: runtime)
        #expect(gathered.status == 4)
        #expect(gathered.stdout == "---------------\npod[01-04] (exit 4)\n---------------\nsame\n", "\(gathered.stdout)")

        let json = try records(try podctl(["exec", "--json"] + persist + ["--", "echo $POD_NAME"], runtime: runtime))
        #expect(json.count == 4)
        for record in json {
            #expect(record["session"] as? String == "kept", "\(record)")
            #expect(record["stdout"] as? String == "\(record["name"] as? String ?? "?")\n")
            #expect(record["connect_ms"] as? Double == 0)
        }

        // A timeout still kills the remote process group, through a second channel of the kept session.
        let marker = "sleep 600.\(UInt32.random(in: 1...UInt32.max))"
        let timed = try podctl(["exec", "-S", "-u", "2"] + persist + ["-w", "pod01", "--", "\(marker) & \(marker)"], runtime: runtime)
        #expect(timed.status == 124, "\(timed.stderr)")
        #expect(timed.stderr.contains("timed out: pod01: no result after 2.0 s; remote process group killed"), "\(timed.stderr)")
        #expect(try Shell.run(["/usr/bin/pgrep", "-f", marker]).status == 1, "the timed-out command survived")

        // Transfers and health go through the same sessions.
        let payload = "\(dir)/payload.bin"
        FileManager.default.createFile(atPath: payload, contents: Data((0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        let remoteDir = try Shell.temporaryDirectory("mux-remote")
        let pushed = try podctl(["push"] + persist + [payload, "\(remoteDir)/payload.bin"], runtime: runtime)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let pulled = try podctl(["pull"] + persist + ["\(remoteDir)/payload.bin", "\(dir)/pulled"], runtime: runtime)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        for pod in fleet.pods {
            #expect(FileManager.default.contents(atPath: "\(dir)/pulled/\(pod.name)/payload.bin") == FileManager.default.contents(atPath: payload))
        }
        // A stand-in printing a report of the real shape (AgentAPI's HealthReport), so the pods answer at once.
        try fleet.installScript("podagent", """
            #!/bin/sh
            echo '{"agent": {"name": "podagent", "version": "stand-in", "pid": 1, "uptime_s": 1, "state_dir": "/x"}, "ready": true, \
            "reasons": [], "host": {"cpu_count": 2, "load_average": [], "disks": []}, "gpu": {"available": false, "reason": "none", \
            "devices": []}, "parts": {}}'
            """)
        let sink = OutputWriter(fd: open("/dev/null", O_WRONLY | O_CLOEXEC))
        defer { close(sink.fd) }
        let health = HealthCommand.run(pods: fleet.pods, settings: persistSettings(runtime), fanout: 4, json: false, out: sink,
                                       command: "\(fleet.binDir)/podagent health --json")
        #expect(health.status == 0, "\(health.rows)")

        // Six commands, one authentication per pod.
        let after = fleet.pods.map { fleet.logins($0).count }
        #expect(zip(after, before).map { $0 - $1 } == [1, 1, 1, 1], "logins per pod: before \(before), after \(after))")
        let state = try #require(try status(runtime))
        #expect(state.sessions.count == 4)
        #expect(state.sessions.allSatisfy { $0.connects == 1 && $0.state == "open" && $0.channels == 0 }, "\(state.sessions)")
        #expect(Set(state.sessions.flatMap(\.pods)) == Set(fleet.pods.map(\.name)))
        let environ = try #require(FileManager.default.contents(atPath: "/proc/\(state.pid)/environ"))
        let variables = String(decoding: environ, as: UTF8.self).split(separator: "\0")
        #expect(variables.contains("XDG_RUNTIME_DIR=\(runtime)"))
        #expect(!variables.contains { $0.hasPrefix("PODCTL_TOKEN=") || $0.hasPrefix("RUNPOD_API_KEY=") }, "\(variables)")
        for secret in secrets.values { #expect(!String(decoding: environ, as: UTF8.self).contains(secret)) }
    }

    @Test func channelsShareOneSessionBeyondSSHDsMaxSessions() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let dir = try Shell.temporaryDirectory("mux-channels")
        // Twelve inventory names for one endpoint: one session key, twelve commands at once on it, more than
        // sshd's MaxSessions (10): the two refused channels wait for free ones instead of failing.
        let pod = fleet.pods[0]
        let fleetFile = try inventory((1...12).map { (String(format: "node%02d", $0), pod, fleet.clientKey) }, in: dir)
        let before = fleet.logins(pod).count
        let result = try podctl(["exec", "--json", "-i", fleetFile, "--known-hosts", fleet.knownHosts, "--persist", "60",
                                 "--", "sleep 1; echo done"], runtime: runtime)
        let all = try records(result)
        #expect(all.count == 12)
        #expect(all.allSatisfy { $0["status"] as? String == "ok" && $0["stdout"] as? String == "done\n" }, "\(result.stdout)")
        #expect(fleet.logins(pod).count - before == 1)
        let state = try #require(try status(runtime))
        #expect(state.sessions.count == 1 && state.sessions.first?.pods.count == 12, "\(state.sessions)")
    }

    @Test func aLongCommandDoesNotHoldUpAnotherAndEndsWithItsClient() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let dir = try Shell.temporaryDirectory("mux-side-by-side")
        let pod = fleet.pods[1]
        let fleetFile = try inventory([pod], in: dir)
        let target = ["-i", fleetFile, "--known-hosts", fleet.knownHosts, "--persist", "60"]
        let marker = "sleep 300.\(UInt32.random(in: 1...UInt32.max))"
        let long = try Shell.spawn([Shell.binary("podctl"), "exec"] + target + ["--", marker],
                                   environment: Shell.environment(["XDG_RUNTIME_DIR": runtime]), stdout: "\(dir)/long.out", stderr: "\(dir)/long.err")
        // Wait until the long command runs on the kept session (one channel open).
        var running = false
        for _ in 0..<600 where !running {
            running = (try? status(runtime))?.sessions.first?.channels == 1
            if !running { usleep(100_000) }
        }
        #expect(running, "the long command never showed up in mux status")
        let quick = try podctl(["exec"] + target + ["--", "echo quick"], runtime: runtime)
        #expect(quick.status == 0 && quick.stdout == "\(pod.name): quick\n", "\(quick.stderr)")
        var exit: Int32 = 0
        #expect(waitpid(long, &exit, WNOHANG) == 0, "the long command ended before the quick one ran beside it")
        #expect(fleet.logins(pod).count >= 1)
        // Its client goes away: the mux closes that command's channel; the session stays for the next command.
        kill(long, SIGKILL)
        waitpid(long, &exit, 0)
        Children.untrack(long)
        var closed = false
        for _ in 0..<300 where !closed {
            closed = (try? status(runtime))?.sessions.first?.channels == 0
            if !closed { usleep(100_000) }
        }
        #expect(closed, "the abandoned command's channel stayed open")
        let log = try String(contentsOfFile: "\(runtime)/podctl/mux.log", encoding: .utf8)
        #expect(log.contains("a client went away: cancelling its 1 running command(s)"), "\(log)")
    }

    @Test func deadSessionsReconnectOnceAndSaySoWhenThatFails() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let dir = try Shell.temporaryDirectory("mux-reconnect")
        let index = 2
        let pod = fleet.pods[index]
        let fleetFile = try inventory([pod], in: dir)
        // A short connect timeout: it also bounds how long a frozen server may take to answer a channel request.
        let target = ["-i", fleetFile, "--known-hosts", fleet.knownHosts, "--persist", "60", "--connect-timeout", "2", "--json"]
        func run() throws -> [String: Any] {
            try #require(try records(try podctl(["exec"] + target + ["--", "echo $POD_NAME"], runtime: runtime)).first)
        }
        let logins = fleet.logins(pod).count
        #expect(try run()["session"] as? String == "new")
        #expect(try run()["session"] as? String == "kept")

        // The pod restarts: sshd and every connection it served die; the next command connects anew.
        let served = fleet.connectionProcesses(index)
        #expect(!served.isEmpty)
        fleet.stopListener(index)
        for pid in served { kill(pid, SIGKILL) }
        try fleet.startListener(index)
        let afterRestart = try run()
        #expect(afterRestart["status"] as? String == "ok" && afterRestart["stdout"] as? String == "\(pod.name)\n", "\(afterRestart)")
        #expect(["new", "reconnected"].contains(afterRestart["session"] as? String ?? ""))
        #expect(fleet.logins(pod).count - logins == 2)

        // The connection stays up but nothing answers (the server side frozen): the channel request times out,
        // the session is made again, once, and the command runs.
        let frozen = fleet.connectionProcesses(index)
        for pid in frozen { kill(pid, SIGSTOP) }
        let revived = try run()
        for pid in frozen { kill(pid, SIGKILL) }
        #expect(revived["status"] as? String == "ok" && revived["session"] as? String == "reconnected", "\(revived)")
        #expect(fleet.logins(pod).count - logins == 3)

        // Frozen again and sshd gone: the one reconnect fails, and the result says what happened.
        let frozenAgain = fleet.connectionProcesses(index)
        for pid in frozenAgain { kill(pid, SIGSTOP) }
        fleet.stopListener(index)
        let failed = try run()
        for pid in frozenAgain { kill(pid, SIGKILL) }
        try fleet.startListener(index)
        #expect(failed["status"] as? String == "unreachable", "\(failed)")
        let message = (failed["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("the kept session was lost") && message.contains("reconnecting failed: cannot connect"), "\(message)")
    }

    @Test func idleSessionsCloseAndTheMuxExits() throws {
        let runtime = try runtimeDirectory()
        let dir = try Shell.temporaryDirectory("mux-idle")
        let pod = fleet.pods[3]
        let fleetFile = try inventory([pod], in: dir)
        let ran = try podctl(["exec", "-i", fleetFile, "--known-hosts", fleet.knownHosts, "--persist", "2s", "--", "true"], runtime: runtime)
        #expect(ran.status == 0, "\(ran.stderr)")
        var gone = false
        for _ in 0..<600 where !gone {
            gone = try podctl(["mux", "status"], runtime: runtime).stdout.hasPrefix("no mux running")
            if !gone { usleep(100_000) }
        }
        #expect(gone, "the mux still runs after its only session's idle limit")
        let log = try String(contentsOfFile: "\(runtime)/podctl/mux.log", encoding: .utf8)
        #expect(log.contains("root@127.0.0.1:\(pod.port): idle, closing the session") && log.contains("exiting"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: "\(runtime)/podctl/mux.sock"))
        // sshd saw the client leave (DEBUG1 pod: "Received disconnect"; INFO: "Disconnected from").
        let sshdLog = try String(contentsOfFile: fleet.log(pod), encoding: .utf8)
        #expect(sshdLog.contains("Disconnected from user root") || sshdLog.contains("Received disconnect"))
    }

    @Test func refusesPeersOfAnotherUserAndDirectoriesOthersCanReach() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let dir = try Shell.temporaryDirectory("mux-uid")
        let fleetFile = try inventory([fleet.pods[0]], in: dir)
        let started = try podctl(["exec", "-i", fleetFile, "--known-hosts", fleet.knownHosts, "--persist", "60", "--", "true"], runtime: runtime)
        #expect(started.status == 0, "\(started.stderr)")
        let muxDir = "\(runtime)/podctl"
        let socket = "\(muxDir)/mux.sock"

        // podctl run as another user (nobody) will not use a mux directory that is not its own.
        chmod(runtime, 0o755)
        let asNobody = try Shell.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Shell.binary("podctl"),
                                      "mux", "status"], environment: Shell.environment(["XDG_RUNTIME_DIR": runtime, "HOME": "/nonexistent"]))
        #expect(asNobody.status == 1 && asNobody.stderr.contains("belongs to uid 0, not to uid 65534"), "\(asNobody.stderr)")

        // Opened up by mistake (0711 directory, 0666 socket): another user's process reaches the socket, and the mux's
        // SO_PEERCRED check refuses it before reading a byte.
        chmod(muxDir, 0o711)
        chmod(socket, 0o666)
        let probe = """
            import json, socket, struct, sys
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
            body = b"\\x01" + json.dumps({"version": 1, "request": {"status": {}}}).encode()
            try:
                s.sendall(struct.pack(">I", len(body)) + body)
                s.settimeout(20); print("answer:", len(s.recv(65536)))
            except (ConnectionResetError, BrokenPipeError):
                print("answer: 0")  # closed on us, unread request and all
            """
        let refused = try Shell.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                                     probe, socket], environment: Shell.environment())
        #expect(refused.stdout == "answer: 0\n", "\(refused.stdout) \(refused.stderr)")
        let log = try String(contentsOfFile: "\(muxDir)/mux.log", encoding: .utf8)
        #expect(log.contains("refused a connection from uid 65534"), "\(log)")
        // podctl itself refuses the directory while others can reach it.
        let loose = try podctl(["mux", "status"], runtime: runtime)
        #expect(loose.status == 1 && loose.stderr.contains("its mode is 711; it must be 700"), "\(loose.stderr)")
        chmod(muxDir, 0o700)
        chmod(socket, 0o600)
        // The same probe as root, the mux's own user, is answered.
        let answered = try Shell.run(["/usr/bin/python3", "-c", probe, socket], environment: Shell.environment())
        #expect(answered.stdout.hasPrefix("answer: ") && answered.stdout != "answer: 0\n", "\(answered.stdout) \(answered.stderr)")
    }

    @Test func aChangedInventoryEntryNeverReusesAnOldSession() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let dir = try Shell.temporaryDirectory("mux-inventory")
        let (first, second) = (fleet.pods[0], fleet.pods[3])
        func run(_ entry: (name: String, pod: Pod, identity: String)) throws -> [String: Any] {
            let fleetFile = try inventory([entry], in: dir)
            let result = try podctl(["exec", "--json", "-i", fleetFile, "--known-hosts", fleet.knownHosts, "--persist", "60",
                                     "--", "echo $POD_NAME"], runtime: runtime)
            return try #require(try records(result).first, "\(result.stderr)")
        }
        let key = "\(dir)/rotating_key"
        try FileManager.default.copyItem(atPath: fleet.clientKey, toPath: key)
        let logins = fleet.logins(first).count
        #expect(try run(("web", first, key))["session"] as? String == "new")
        #expect(try run(("web", first, key))["session"] as? String == "kept")
        // Another key for the same name, host and port: a new session, authenticated with that key.
        let ecdsa = try run(("web", first, fleet.ecdsaKey))
        #expect(ecdsa["session"] as? String == "new" && ecdsa["stdout"] as? String == "\(first.name)\n")
        #expect(fleet.logins(first).last?.contains("ECDSA") == true, "\(fleet.logins(first).last ?? "")")
        // The same key file rewritten with another key: its content decides, not its path.
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: fleet.rsaKey, toPath: key)
        let rotated = try run(("web", first, key))
        #expect(rotated["session"] as? String == "new")
        #expect(fleet.logins(first).last?.contains("RSA") == true, "\(fleet.logins(first).last ?? "")")
        #expect(fleet.logins(first).count - logins == 3)
        // The name now points at another port: the other pod answers, on a session of its own.
        let moved = try run(("web", second, key))
        #expect(moved["session"] as? String == "new" && moved["stdout"] as? String == "\(second.name)\n", "\(moved)")
        let state = try #require(try status(runtime))
        #expect(state.sessions.count == 4, "\(state.sessions)")
    }

    @Test func hostKeysAreCheckedWhenASessionIsMadeAndAgainWhenKnownHostsChanges() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let dir = try Shell.temporaryDirectory("mux-hostkeys")
        let pod = fleet.pods[2]
        let fleetFile = try inventory([pod], in: dir)
        let knownHosts = "\(dir)/known_hosts"
        func run() throws -> [String: Any] {
            let result = try podctl(["exec", "--json", "-i", fleetFile, "--known-hosts", knownHosts, "--persist", "60", "--", "true"],
                                    runtime: runtime)
            return try #require(try records(result).first, "\(result.stderr)")
        }
        func message(_ record: [String: Any]) -> String { ((record["error"] as? [String: Any])?["message"] as? String) ?? "" }
        // Unknown to known_hosts: refused under strict, as without the mux, and no session is kept.
        try "".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let unknown = try run()
        #expect(unknown["status"] as? String == "host-key" && message(unknown).contains("unknown host key"), "\(unknown)")
        // Known: a session is made and kept.
        let line = try #require(fleet.hostKeyLines.first { $0.hasPrefix("[127.0.0.1]:\(pod.port) ") })
        try (line + "\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        #expect(try run()["session"] as? String == "new")
        #expect(try run()["session"] as? String == "kept")
        // known_hosts now holds another key for the pod: the kept session is checked again and dropped.
        let other = try #require(fleet.hostKeyLines.first { !$0.hasPrefix("[127.0.0.1]:\(pod.port) ") })
        let forged = "[127.0.0.1]:\(pod.port) " + other.split(separator: " ").dropFirst().joined(separator: " ")
        try (forged + "\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let changed = try run()
        #expect(changed["status"] as? String == "host-key" && message(changed).contains("HOST KEY CHANGED"), "\(changed)")
        let state = try #require(try status(runtime))
        #expect(state.sessions.isEmpty, "\(state.sessions)")
    }

    @Test func progressLineAndSummaryOnATerminalAsWithoutTheMux() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let dir = try Shell.temporaryDirectory("mux-terminal")
        let fleetFile = try inventory(fleet.pods, in: dir)
        let command = [Shell.binary("podctl"), "exec", "-i", fleetFile, "--known-hosts", fleet.knownHosts, "--persist", "60", "--", "echo hi"]
        let quoted = command.map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }.joined(separator: " ")
        for _ in 0..<2 {
            let onTerminal = try Shell.run(["/usr/bin/script", "-qfec", quoted, "/dev/null"],
                                           environment: Shell.environment(["XDG_RUNTIME_DIR": runtime]), timeout: 90)
            #expect(onTerminal.status == 0, "\(onTerminal.stdout)")
            #expect(onTerminal.stdout.contains("[4/4 done, 0 failed]"), "\(onTerminal.stdout)")
            let rows = onTerminal.stdout.components(separatedBy: "\r\n").map {
                ($0.components(separatedBy: "\r").last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
            }
            for pod in fleet.pods { #expect(rows.contains("\(pod.name): hi"), "\(rows)") }
            #expect(rows.contains("podctl: 4 pods: 4 ok, 0 failed, 0 unreachable, 0 timed out"), "\(rows)")
        }
    }

    @Test func forwardGoesThroughTheKeptSession() throws {
        let runtime = try runtimeDirectory()
        defer { stopMux(runtime) }
        let served = try Shell.temporaryDirectory("mux-www")
        try "through the mux\n".write(toFile: "\(served)/hello.txt", atomically: true, encoding: .utf8)
        let httpPort = Shell.freePort()
        let server = try Shell.spawn(["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", served, String(httpPort)])
        defer { Shell.stop(server) }
        #expect(Shell.waitForPort(httpPort))
        let pod = fleet.pods[1]
        let settings = persistSettings(runtime)
        let logins = fleet.logins(pod).count
        for round in 0..<2 {
            let tunnel = try AgentTunnel.open(pod: pod, settings: settings, remotePort: httpPort)
            defer { tunnel.close() }
            for _ in 0..<3 {
                let response = try HTTPClientForTests.get("\(tunnel.baseURL)/hello.txt")
                #expect(response == "through the mux\n", "round \(round)")
            }
        }
        #expect(fleet.logins(pod).count - logins == 1, "two tunnels, six connections: one authentication")
    }

    /// The mux is started through CShims' one fork path: whatever the starting thread blocked and the
    /// process ignored, the mux starts with an empty signal mask, default dispositions, a session of its own,
    /// stdin from /dev/null, its output in the log (0600), and nothing of podctl's open descriptors.
    @Test func muxStartsDetachedWithACleanSignalSetup() throws {
        let dir = try Shell.temporaryDirectory("mux-spawn")
        let directory = MuxDirectory(path: dir)
        let open = Glibc.open("\(dir)/held", O_WRONLY | O_CREAT, 0o600)  // not close-on-exec: must not reach the mux
        defer { Glibc.close(open) }
        var blocked = sigset_t(), previous = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR1)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        // The started program reads nothing itself (a shell's own mask changes while it waits for children):
        // it execs sleep, and the test reads its /proc entry.
        let started = Result { () throws(ControllerError) -> pid_t in
            try MuxLauncher.start(command: ["/bin/sh", "-c", "exec sleep 60", "sh"], directory: directory)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        let pid = try started.get()
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        var exe = ""
        for _ in 0..<500 where !exe.hasSuffix("/sleep") {
            exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
            if !exe.hasSuffix("/sleep") { usleep(10_000) }
        }
        #expect(exe.hasSuffix("/sleep"), "\(exe)")
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("SigBlk:\t0000000000000000"), "\(status)")
        #expect(status.contains("SigIgn:\t0000000000000000"), "\(status)")
        let procStat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = procStat[procStat.index(after: try #require(procStat.lastIndex(of: ")")))...].split(separator: " ")
        #expect(fields.count > 3 && fields[3] == "\(pid)", "not a session of its own: \(procStat)")
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").sorted()
        #expect(fds == ["0", "1", "2"], "descriptors beyond the three: \(fds)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/0") == "/dev/null")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1") == directory.log)
        var info = stat()
        #expect(stat(directory.log, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }
}

import CurlClient

/// A GET through the real libcurl client.
enum HTTPClientForTests {
    static func get(_ url: String) throws -> String {
        let response = try HTTPClient(timeoutSeconds: 10).get(url)
        return String(decoding: response.body, as: UTF8.self)
    }
}
