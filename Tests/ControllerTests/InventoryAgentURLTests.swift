import Controller
import Foundation
import Testing
import TestProcesses

/// `agent_url` in the fleet file: placeholders, defaults, errors that name the line.
@Suite("Inventory: agent_url and the host key alias")
struct InventoryAgentURLTests {
    func load(_ yaml: String) throws -> [Pod] {
        let dir = try Shell.temporaryDirectory("inv-url")
        try yaml.write(toFile: "\(dir)/fleet.yaml", atomically: true, encoding: .utf8)
        return try Inventory.load(path: "\(dir)/fleet.yaml", home: "/home/u").pods
    }

    func problem(_ yaml: String) throws -> String {
        let error = try #require(throws: ControllerError.self) { try load(yaml) }
        #expect(error.programExit.rawValue == 2)
        return error.message
    }

    @Test func placeholdersAreFilledPerPod() throws {
        let pods = try load("""
            defaults: {agent_url: "https://{pod_id}-{agent_port}.proxy.runpod.net"}
            pods:
              - {name: "rp[1-2]", host: 1.2.3.4, runpod_id: abc}
              - {name: other, host: 10.0.0.1}
              - {name: Own-1, host: 10.0.0.2, agent_port: 9000, agent_url: "https://{name}.example.com:{agent_port}/"}
            """)
        #expect(pods.map(\.agentURL) == ["https://abc-8080.proxy.runpod.net", "https://abc-8080.proxy.runpod.net", nil,
                                         "https://Own-1.example.com:9000"])
        #expect(pods.map(\.hostKeyAlias) == ["rp1", "rp2", "other", "Own-1"])
    }

    @Test func badAgentURLsNameTheLineAndTheField() throws {
        #expect(try problem("pods:\n  - {name: a, host: h, agent_url: \"https://{pod_id}-8080.proxy.runpod.net\"}\n")
            .hasSuffix(":2: pods[0].agent_url: {pod_id} needs the pod's runpod_id"))
        #expect(try problem("pods:\n  - {name: a, host: h, agent_url: \"https://{podid}.x\"}\n")
            .contains("pods[0].agent_url: unknown placeholder {podid}"))
        #expect(try problem("defaults:\n  agent_url: ftp://x\npods:\n  - {name: a, host: h}\n")
            .contains(":2: defaults.agent_url: 'ftp://x' is not an http:// or https:// URL with a host"))
    }
}
