import Controller
import Foundation
import Testing
import TestProcesses

/// `podctl discover runpod` against a local HTTP server that serves RunPod-shaped JSON.
@Suite("Discover RunPod over libcurl")
struct DiscoverTests {
    static let serverScript = #"""
        import http.server, json, sys
        PODS = [
          {"id": "abc123", "name": "maptr 1", "image": "x", "desiredStatus": "RUNNING", "publicIp": "213.173.109.39",
           "portMappings": {"22": 13007, "8888": 13008}, "ports": ["8888/http", "22/tcp"], "gpu": {"id": "NVIDIA H100", "count": 1, "displayName": "H100"},
           "machineId": "m", "volumeMountPath": "/workspace", "costPerHr": 2.5, "lastStartedAt": "2026-01-01"},
          {"id": "def456", "name": "starting", "desiredStatus": "RUNNING", "publicIp": "", "portMappings": {}},
          {"id": "ghi789", "name": "no-ssh", "desiredStatus": "RUNNING", "publicIp": "1.2.3.4", "portMappings": {"8888": 1}},
          {"id": "jkl000", "name": "stopped", "desiredStatus": "EXITED", "publicIp": "", "portMappings": None},
        ]
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.headers.get("Authorization") != "Bearer test-key":
                    self.send_response(401); self.end_headers(); self.wfile.write(b'{"error":"unauthorized"}'); return
                if self.path != "/v1/pods":
                    self.send_response(404); self.end_headers(); return
                body = json.dumps(PODS).encode()
                self.send_response(200); self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            def log_message(self, *args): pass
        http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """#

    @Test func listsPodsAndWritesReachableOnesIntoTheFleetFile() throws {
        let dir = try Shell.temporaryDirectory("discover")
        try Self.serverScript.write(toFile: "\(dir)/server.py", atomically: true, encoding: .utf8)
        let port = Shell.freePort()
        let server = try Shell.spawn(["/usr/bin/python3", "\(dir)/server.py", String(port)], stderr: "\(dir)/server.log")
        defer { Shell.stop(server) }
        #expect(Shell.waitForPort(port))
        let base = "http://127.0.0.1:\(port)/v1"

        let denied = try #require(throws: ControllerError.self) { try RunPodDiscovery.fetch(baseURL: base, apiKey: "wrong") }
        #expect(denied.message.contains("HTTP 401") && denied.message.contains("RUNPOD_API_KEY") && !denied.message.contains("wrong"))

        let found = RunPodDiscovery.classify(try RunPodDiscovery.fetch(baseURL: base, apiKey: "test-key"))
        #expect(found.count == 4)
        #expect(found[0] == DiscoveredPod(id: "abc123", name: "maptr-1", status: "RUNNING", host: "213.173.109.39", port: 13007, httpPorts: [8888]))
        #expect(found[1].unreachableReason?.contains("no public IP") == true)
        #expect(found[2].unreachableReason?.contains("22") == true)
        #expect(found[3].unreachableReason == "pod is EXITED")

        let fleetFile = "\(dir)/fleet.yaml"
        try "defaults: {user: root}\npods:\n  - {name: mine, host: 10.0.0.1}\n  - {name: maptr-1, host: 9.9.9.9, port: 1}\n"
            .write(toFile: fleetFile, atomically: true, encoding: .utf8)
        let counts = try RunPodDiscovery.update(fleetFile: fleetFile, with: found)
        #expect(counts.added == 0 && counts.updated == 1)
        // The pod exposes 8888 over HTTP, not the agent's 8080: no proxy URL, and a note saying why.
        #expect(counts.notes == ["maptr-1: agent_url not set from RunPod's proxy: port 8080 is not exposed as HTTP (add 8080/http to the pod's ports to trust its host keys through the proxy)"])
        var inventory = try Inventory.load(path: fleetFile, home: "/h")
        #expect(inventory.pods.map(\.name) == ["mine", "maptr-1"])
        #expect(inventory.pods[1].host == "213.173.109.39" && inventory.pods[1].port == 13007 && inventory.pods[1].runpodID == "abc123")
        let fresh = "\(dir)/new/fleet.yaml"
        #expect(try RunPodDiscovery.update(fleetFile: fresh, with: found).added == 1)
        inventory = try Inventory.load(path: fresh, home: "/h")
        #expect(inventory.pods == [Pod(name: "maptr-1", host: "213.173.109.39", port: 13007, labels: ["runpod"], runpodID: "abc123",
                                       hostKeyAlias: "maptr-1")])
        // With the agent on the exposed port, agent_url is RunPod's proxy URL for it.
        let proxied = "\(dir)/proxied/fleet.yaml"
        try FileManager.default.createDirectory(atPath: "\(dir)/proxied", withIntermediateDirectories: true)
        try "defaults: {agent_port: 8888}\npods: []\n".write(toFile: proxied, atomically: true, encoding: .utf8)
        #expect(try RunPodDiscovery.update(fleetFile: proxied, with: found).notes.isEmpty)
        #expect(try Inventory.load(path: proxied, home: "/h").pods.map(\.agentURL) == ["https://abc123-8888.proxy.runpod.net"])
    }

    @Test func unreachableAPIIsAClearError() throws {
        let error = try #require(throws: ControllerError.self) {
            try RunPodDiscovery.fetch(baseURL: "http://127.0.0.1:\(Shell.freePort())/v1", apiKey: "k", timeout: 5)
        }
        #expect(error.message.hasPrefix("RunPod API: GET http://127.0.0.1:"))
    }
}
