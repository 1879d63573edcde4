import Foundation
import TestProcesses

/// Tests/AgentAPITests/Support/scripted_http.py: a real TCP server on loopback that answers each
/// connection with the next scripted bytes, however broken (what a hostile or failing agent sends).
final class ScriptedServer {
    /// One connection's answer: parts sent in order, each followed by a pause; then the connection is held open.
    struct Answer {
        var parts: [(String, Double)]
        var hold: Double = 0

        static func whole(_ text: String, hold: Double = 0) -> Answer { Answer(parts: [(text, 0)], hold: hold) }
    }

    let pid: pid_t
    let port: Int
    let script: String
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(_ answers: [Answer]) throws {
        let dir = try Shell.temporaryDirectory("scripted")
        script = "\(dir)/script.json"
        let json = answers.map { ["send": $0.parts.map { [$0.0, $0.1] as [Any] }, "hold": $0.hold] as [String: Any] }
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: script))
        let program = Shell.repoRoot.appendingPathComponent("Tests/AgentAPITests/Support/scripted_http.py").path
        let log = "\(dir)/server.log"
        pid = try Shell.spawn(["/usr/bin/python3", program, script], stdout: log, stderr: log)
        port = try Shell.announcedPort(of: pid, in: log, what: "the scripted HTTP server")
    }

    /// The requests received so far, as sent.
    var requests: [String] {
        let text = (try? String(contentsOfFile: script + ".requests", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(String.self, from: Data($0.utf8)) }
    }

    func stop() { Shell.stop(pid) }
}
