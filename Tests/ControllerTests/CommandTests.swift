import Controller
import Crypto
import CurlClient
import Foundation
import Synchronization
import Testing
import TestProcesses

@Suite("health, push/pull, forward, ssh-config over real sshd")
struct CommandTests {
    let fleet = SSHDFleet.shared

    @Test func healthWithStandInPodagentScriptOnThePod() throws {
        // Stand-in script with the real report's shape, so pods can differ by name (a GPU, one not ready);
        // `healthFromARealPodagentOnThePod` runs the real agent.
        try fleet.installScript("podagent", """
            #!/bin/sh
            [ "$1 $2" = "health --json" ] || { echo "unexpected args: $*" >&2; exit 2; }
            ready=true; [ "$POD_NAME" = pod03 ] && ready=false
            cat <<JSON
            {"agent":{"name":"podagent","version":"0.1.0","pid":1,"uptime_s":5,"state_dir":"/x"},"ready":$ready,"reasons":[],
             "host":{"cpu_count":16,"load_average":[0.1,0.2,0.3],"disks":[]},"gpu":{"available":true,"devices":[{"index":0,"name":"H100","uuid":"u","memory_total_mib":81559,
             "memory_used_mib":1024,"utilization_percent":37,"processes":[]}]},
             "parts":{"sshd":{"ready":true,"state":"running","details":{}},"model:maptr":{"ready":$ready,"state":"x","details":{}}}}
            JSON
            $ready || exit 1
            """)
        let dead = Pod(name: "pod99", host: "127.0.0.1", port: Shell.freePort(), user: "root", identity: fleet.clientKey)
        let sink = OutputWriter(fd: open("/dev/null", O_WRONLY))
        // The pod's login files may rewrite PATH, so the stand-in is called by its full path.
        let command = "\(fleet.binDir)/\(HealthCommand.remoteCommand)"
        let outcome = HealthCommand.run(pods: Array(fleet.pods.prefix(4)) + [dead], settings: fleet.settings(), fanout: 8,
                                        json: false, out: sink, command: command)
        #expect(outcome.status == 1)
        let rows = Dictionary(uniqueKeysWithValues: outcome.rows.map { ($0.pod, $0) })
        #expect(rows["pod01"] == HealthRow(pod: "pod01", ready: true, sshd: "running", gpuUtilization: "37%",
                                           gpuMemory: "1024/81559MiB", models: "1/1", version: "0.1.0", problem: nil))
        #expect(rows["pod03"]?.ready == false && rows["pod03"]?.models == "0/1")
        #expect(rows["pod99"]?.healthy == false && rows["pod99"]?.problem?.hasPrefix("unreachable") == true)
        let table = HealthCommand.table(outcome.rows)
        #expect(table.hasPrefix("POD"))
        #expect(table.contains("pod01  yes    running  37%"))
        let allGood = HealthCommand.run(pods: [fleet.pods[0], fleet.pods[1]], settings: fleet.settings(), fanout: 2, json: true, out: sink,
                                        command: command)
        #expect(allGood.status == 0)
    }

    @Test func healthFromARealPodagentOnThePod() throws {
        let dir = try Shell.temporaryDirectory("health-real")
        let agent = try DemoPodagent(dir: dir, token: nil)
        defer { agent.stop() }
        let podagent = Shell.binary("podagent")
        let sink = OutputWriter(fd: open("/dev/null", O_WRONLY))
        // The pods share this machine: each session runs the real podagent CLI against the real agent's port.
        func ask() -> (rows: [HealthRow], status: Int32) {
            HealthCommand.run(pods: [fleet.pods[9]], settings: fleet.settings(), fanout: 2, json: false, out: sink,
                              command: "PODAGENT_URL=http://127.0.0.1:\(agent.port) \(podagent) health --json")
        }
        // The agent listens before its Demo worker is up: first not ready, with the reason in PROBLEM.
        var answering = ask()
        let deadline = ContinuousClock.now + .seconds(60)
        while answering.status != 0, ContinuousClock.now < deadline {
            let first = try #require(answering.rows.first)
            #expect(first.ready == false && first.problem?.contains("model:Demo") == true, "\(first)")
            usleep(200_000)
            answering = ask()
        }
        let row = try #require(answering.rows.first)
        #expect(answering.status == 0, "\(row)")
        #expect(row.ready == true && row.problem == nil && row.models == "1/1", "\(row)")
        #expect(row.version != "-" && row.gpuUtilization == "no GPU", "\(row)")

        let silent = HealthCommand.run(pods: [fleet.pods[10]], settings: fleet.settings(), fanout: 2, json: false, out: sink,
                                       command: "PODAGENT_URL=http://127.0.0.1:\(Shell.freePort()) \(podagent) health --json --timeout 2")
        let down = try #require(silent.rows.first)
        #expect(silent.status == 1)
        #expect(down.ready == false && down.problem?.hasPrefix("agent not answering: ") == true, "\(down)")
    }

    /// Issue 19's bug through the whole path: `podctl health` runs `podagent health --json` in an SSH session
    /// on a real pod (real podagent, real sshd) whose API token comes from a file. It showed such pods
    /// unhealthy (401). The session gets what a real pod's session gets: the rc file podagent hooked
    /// (the pod environment, PODAGENT_TOKEN_FILE included) and, for `api.token_file`, the config file
    /// (a real pod's /etc/podagent/podagent.yaml, the default; passed here because the fixture's is elsewhere).
    @Test(arguments: [SSHDPodagent.TokenSource.configFile, .fileVariable])
    func healthOfAPodWhoseTokenComesFromAFile(source: SSHDPodagent.TokenSource) throws {
        let agent = try SSHDPodagent(authorizedKey: try String(contentsOfFile: fleet.clientKey + ".pub", encoding: .utf8),
                                     name: "health-token", token: source)
        defer { agent.stop() }
        let dir = try Shell.temporaryDirectory("health-token")
        let pod = Pod(name: "gpu-1", host: "127.0.0.1", port: agent.sshPort, user: "root", identity: fleet.clientKey)
        let settings = fleet.settings(policy: .acceptNew, knownHosts: "\(dir)/known_hosts")
        let sink = OutputWriter(fd: open("/dev/null", O_WRONLY | O_CLOEXEC))
        defer { close(sink.fd) }
        let config = source == .configFile ? " --config \(agent.configFile)" : ""
        let command = ". \(agent.bashrc); PODAGENT_URL=\(agent.baseURL) \(Shell.binary("podagent")) health --json\(config)"
        var outcome = HealthCommand.run(pods: [pod], settings: settings, fanout: 1, json: false, out: sink, command: command)
        // sshd's part turns ready a moment after the agent listens.
        let deadline = ContinuousClock.now + .seconds(60)
        while outcome.status != 0, ContinuousClock.now < deadline, outcome.rows.first?.problem?.contains("needs the API token") != true {
            usleep(200_000)
            outcome = HealthCommand.run(pods: [pod], settings: settings, fanout: 1, json: false, out: sink, command: command)
        }
        let row = try #require(outcome.rows.first)
        #expect(outcome.status == 0, "\(row)")
        #expect(row.ready == true && row.problem == nil && row.sshd == "running" && row.version != "-", "\(row)")

        // Without the session's environment and config the token is not found: the agent refuses the report.
        let bare = HealthCommand.run(pods: [pod], settings: settings, fanout: 1, json: true, out: sink,
                                     command: "PODAGENT_URL=\(agent.baseURL) \(Shell.binary("podagent")) health --json")
        #expect(bare.status == 1 && bare.rows.first?.problem?.contains("needs the API token") == true, "\(bare.rows)")
    }

    @Test func pushAndPullOverSFTPWithChecksums() throws {
        let dir = try Shell.temporaryDirectory("transfer")
        var bytes = [UInt8](repeating: 0, count: 300_000)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let local = "\(dir)/payload.bin"
        FileManager.default.createFile(atPath: local, contents: Data(bytes))
        let localDigest = try Shell.run(["/usr/bin/sha256sum", local]).stdout.split(separator: " ").first.map(String.init)
        #expect(SHA256.hash(data: bytes).hex == localDigest)
        let remoteDir = try Shell.temporaryDirectory("remote")
        let remote = "\(remoteDir)/payload.bin"
        let pods = Array(fleet.pods.prefix(4))
        let pushed = try TransferCommand.push(local: local, remote: remote, pods: pods, settings: fleet.settings(), fanout: 4)
        #expect(pushed.allSatisfy { $0.error == nil && $0.bytes == 300_000 && $0.sha256 == localDigest }, "\(pushed.map(\.error))")
        #expect(FileManager.default.contents(atPath: remote) == Data(bytes))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: remoteDir)
        #expect(leftovers == ["payload.bin"])

        let pulled = TransferCommand.pull(remote: remote, localDirectory: "\(dir)/pulled", pods: pods, settings: fleet.settings(), fanout: 4)
        for result in pulled {
            #expect(result.error == nil)
            #expect(result.path == "\(dir)/pulled/\(result.pod.name)/payload.bin")
            #expect(FileManager.default.contents(atPath: result.path) == Data(bytes))
            #expect(result.sha256 == localDigest)
        }
        let missing = TransferCommand.pull(remote: "\(remoteDir)/nope", localDirectory: "\(dir)/pulled", pods: [pods[0]],
                                           settings: fleet.settings(), fanout: 1)
        #expect(missing.first?.error?.contains("no such file") == true, "\(missing.first?.error ?? "")")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/pulled/pod01/nope"))
    }

    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hash(data: Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash(data: [UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(data: Array(String(repeating: "a", count: 1000).utf8)).hex
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func forwardReachesAnHTTPServerInsideThePod() throws {
        let served = try Shell.temporaryDirectory("www")
        try "hello through the tunnel\n".write(toFile: "\(served)/hello.txt", atomically: true, encoding: .utf8)
        let httpPort = Shell.freePort()
        let server = try Shell.spawn(["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", served, String(httpPort)])
        defer { Shell.stop(server) }
        #expect(Shell.waitForPort(httpPort))

        let stop = Atomic<Bool>(false)
        let bound = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let pod = fleet.pods[3]
        let settings = fleet.settings()
        let thread = Thread {
            do {
                try ForwardCommand.run(pod: pod, settings: settings, localPort: 0, remoteHost: "127.0.0.1", remotePort: httpPort,
                                       ready: { bound.store($0, ordering: .relaxed) }, shouldStop: { stop.load(ordering: .relaxed) })
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            stop.store(true, ordering: .relaxed)
        }
        thread.start()
        let deadline = Date().addingTimeInterval(20)
        while bound.load(ordering: .relaxed) == 0, !stop.load(ordering: .relaxed), Date() < deadline { usleep(10_000) }
        let port = bound.load(ordering: .relaxed)
        #expect(port > 0, "forward did not start: \(failure.withLock { $0 } ?? "timeout")")
        if port > 0 {
            for _ in 0..<3 {
                let response = try HTTPClient(timeoutSeconds: 10).get("http://127.0.0.1:\(port)/hello.txt")
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self) == "hello through the tunnel\n")
            }
        }
        stop.store(true, ordering: .relaxed)
        while !Thread.current.isCancelled, Date() < deadline, thread.isExecuting { usleep(10_000) }
        #expect(failure.withLock { $0 } == nil)
    }

    @Test func sshConfigIsIdempotentAndWorksWithTheRealSSHClient() throws {
        let home = try Shell.temporaryDirectory("home")
        try FileManager.default.createDirectory(atPath: "\(home)/.ssh", withIntermediateDirectories: true)
        let original = "Host old\n  HostName example.invalid\n"
        try original.write(toFile: "\(home)/.ssh/config", atomically: true, encoding: .utf8)
        let writer = SSHConfigWriter(home: home)
        let pods = Array(fleet.pods.prefix(3))
        #expect(try writer.write(pods, knownHostsFile: fleet.knownHosts, policy: .strict))
        #expect(try writer.write(pods, knownHostsFile: fleet.knownHosts, policy: .strict) == false)
        let config = try String(contentsOfFile: "\(home)/.ssh/config", encoding: .utf8)
        #expect(config.hasPrefix("# Added by podctl: pods from the fleet file.\nInclude \(home)/.ssh/podctl/config\n"))
        #expect(config.components(separatedBy: "Include ").count == 2)
        #expect(config.hasSuffix(original))
        for pod in pods {
            let result = try Shell.run(["/usr/bin/ssh", "-F", "\(home)/.ssh/config", "-o", "BatchMode=yes", pod.name,
                                        "echo via-ssh $POD_NAME"], timeout: 30)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "via-ssh \(pod.name)\n")
        }
        #expect(CodeCommand.url(pod: "pod01", path: "/workspace/x") == "vscode://vscode-remote/ssh-remote+pod01/workspace/x")
    }
}
