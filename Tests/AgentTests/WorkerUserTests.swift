import Foundation
import Testing

@testable import Agent

/// Model workers never run as root: a real `podagent run` started as root (tests run as root, as CI
/// does) starts the real Demo worker as an unprivileged user, which can read its uploads but not
/// root's files; `ssh.user` is the default, `inference.user` overrides, root only when asked.
@Suite("The workers' user, with a real podagent started as root and the real Demo worker", .serialized)
struct WorkerUserTests {
    static let token = "tok-\(UUID().uuidString)"

    struct Started {
        let agent: AgentProcess
        let directory: String
    }

    func start(_ environment: [String: String] = [:]) async throws -> Started {
        try #require(geteuid() == 0, "these tests start podagent as root, as CI runs them")
        let directory = try TestSupport.workerWritableDirectory("worker-user")
        let agent = try await AgentProcess.startDemo(token: Self.token, directory: directory, environment: environment)
        return Started(agent: agent, directory: directory)
    }

    /// The Demo instance's reported uid and pid from the repository index, once its worker is ready
    /// (/v2/health/ready can answer 200 between the model's checks and its workers' start).
    func instance(_ started: Started) async throws -> (uid: Int, pid: Int32) {
        var last: [[String: Any]] = []
        for _ in 0..<300 {
            last = try await InferenceOverHTTPTests().call(started.agent, [["path": "/v2/repository/index", "token": Self.token]], in: started.directory)
            let models = last[0]["body"] as? [[String: Any]] ?? []
            if let demo = (models.first { $0["name"] as? String == "Demo" }?["instances"] as? [[String: Any]])?.first,
               demo["state"] as? String == "idle", let uid = demo["uid"] as? Int, let pid = demo["pid"] as? Int {
                return (uid, Int32(pid))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("no ready Demo instance: \(last)\n\(started.agent.log)")
        throw AgentError(.notReady, "no ready Demo instance")
    }

    /// The real, effective, saved and filesystem uids of `pid`, from /proc.
    static func uids(_ pid: Int32) throws -> [String] {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Uid:") })
        return line.dropFirst(4).split(whereSeparator: \.isWhitespace).map(String.init)
    }

    @Test("by default the Demo worker runs as nobody: it reads its upload, not a root-only file")
    func nobodyByDefault() async throws {
        let started = try await start()
        defer { Task { _ = await started.agent.stop() }; try? FileManager.default.removeItem(atPath: started.directory) }
        let nobody = try #require(ProcessIdentity.lookup("nobody"))
        let (uid, pid) = try await instance(started)
        #expect(uid == Int(nobody.uid) && uid != 0)
        #expect(try Self.uids(pid) == Array(repeating: "\(nobody.uid)", count: 4), "real, effective, saved and filesystem uid")
        #expect(started.agent.log.contains("model workers run as nobody"), "\(started.agent.log)")

        let secret = started.directory + "/root-only.jpg"
        try Data("root's".utf8).write(to: URL(fileURLWithPath: secret))
        chmod(secret, 0o600)
        let upload = ["base64": Data("jpeg bytes".utf8).base64EncodedString(), "filename": "cam.jpg"]
        let answers = try await InferenceOverHTTPTests().call(started.agent, [
            ["method": "POST", "path": "/models/Demo/infer", "token": Self.token,
             "body": ["inputs": ["sample_id": "up", "img_path": upload], "options": ["read_inputs": true]]],
            ["method": "POST", "path": "/models/Demo/infer", "token": Self.token,
             "body": ["inputs": ["sample_id": "secret", "img_path": secret], "options": ["read_inputs": true]]],
        ], in: started.directory)
        #expect(answers[0]["status"] as? Int == 200, "the worker reads the upload handed to its user: \(answers[0])")
        #expect(answers[1]["status"] as? Int == 400, "\(answers[1])")
        let error = (answers[1]["body"] as? [String: Any])?["error"] as? String ?? ""
        #expect(error.contains("cannot read \(secret) as uid \(nobody.uid): Permission denied"), "\(error)")
    }

    @Test("the SSH login user is the default when one is configured; inference.user overrides it")
    func sshUserThenInferenceUser() async throws {
        let daemon = try #require(ProcessIdentity.lookup("daemon"), "the test machine has a 'daemon' account")
        let asLogin = try await start(["PODAGENT_SSH_USER": "daemon"])
        let (loginUID, loginPID) = try await instance(asLogin)
        let loginUIDs = try Self.uids(loginPID)
        _ = await asLogin.agent.stop()
        try? FileManager.default.removeItem(atPath: asLogin.directory)
        #expect(loginUID == Int(daemon.uid))
        #expect(loginUIDs == Array(repeating: "\(daemon.uid)", count: 4))

        let overridden = try await start(["PODAGENT_SSH_USER": "daemon", "PODAGENT_INFERENCE_USER": "nobody"])
        let (uid, _) = try await instance(overridden)
        _ = await overridden.agent.stop()
        try? FileManager.default.removeItem(atPath: overridden.directory)
        #expect(uid == Int(try #require(ProcessIdentity.lookup("nobody")).uid))
    }

    @Test("root only when inference.user says so, with a warning")
    func rootOnlyWhenAsked() async throws {
        let started = try await start(["PODAGENT_INFERENCE_USER": "root"])
        defer { Task { _ = await started.agent.stop() }; try? FileManager.default.removeItem(atPath: started.directory) }
        let (uid, _) = try await instance(started)
        #expect(uid == 0)
        #expect(started.agent.log.contains("model workers run as root: inference.user is 'root'"), "\(started.agent.log)")
    }

    @Test("an inference.user that does not exist keeps the model from starting, naming it")
    func unknownUser() async throws {
        let directory = try TestSupport.workerWritableDirectory("worker-user")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = try await AgentProcess.start(environment: [
            "PODAGENT_MODELS": "Demo", "PODAGENT_TOKEN": Self.token, "PODAGENT_INFERENCE_USER": "no-such-user-x",
            "PODAGENT_PLUGINS_DIR": TestSupport.repoRoot.appendingPathComponent("Plugins").path,
        ])
        defer { Task { _ = await agent.stop() } }
        var reason = ""
        for _ in 0..<300 where !reason.contains("no-such-user-x") {
            let health = try? await httpGet(agent.baseURL + "/v2/health/ready")
            reason = health.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            if !reason.contains("no-such-user-x") { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(reason.contains("inference.user 'no-such-user-x': no such user"), "\(reason)")
    }
}
