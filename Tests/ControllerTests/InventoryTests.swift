import Controller
import Foundation
import Testing
import TestProcesses

@Suite("Inventory and targets")
struct InventoryTests {
    func write(_ text: String) throws -> String {
        let dir = try Shell.temporaryDirectory("inventory")
        let path = "\(dir)/fleet.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func loadsRangesAndDefaults() throws {
        let path = try write("""
            defaults: {user: ubuntu, port: 22, identity: ~/.ssh/id_ed25519, agent_port: 8080}
            pods:
              - {name: maptr-1, host: 213.173.109.39, port: 13007, labels: [maptr]}
              - name: pod[01-04]
                host: 10.0.0.[11-14]
                labels: [petr, gpu]
              - name: ring[1-3]
                host: 127.0.0.1
                port: "[2201-2203]"
                user: root
            """)
        let inventory = try Inventory.load(path: path, home: "/home/me")
        #expect(inventory.pods.count == 8)
        let maptr = try #require(inventory.pods.first)
        #expect(maptr == Pod(name: "maptr-1", host: "213.173.109.39", port: 13007, user: "ubuntu",
                             identity: "/home/me/.ssh/id_ed25519", labels: ["maptr"], agentPort: 8080, hostKeyAlias: "maptr-1"))
        #expect(inventory.pods[4].name == "pod04" && inventory.pods[4].host == "10.0.0.14" && inventory.pods[4].port == 22)
        #expect(inventory.pods[7].name == "ring3" && inventory.pods[7].port == 2203 && inventory.pods[7].user == "root")
    }

    @Test(arguments: [
        ("pods:\n  - {name: a, host: h, port: 99999}\n", ":2: pods[0].port: expected a port number"),
        ("pods:\n  - {name: a}\n", ":2: pods[0].host: missing"),
        ("pods:\n  - {name: a, host: h, colour: red}\n", ":2: pods[0].colour: unknown field"),
        ("defaults: {user: root}\n", ":1: pods: missing"),
        ("pods:\n  - {name: a, host: h}\n  - {name: a, host: h2}\n", ":3: pods[1].name: 'a' is already defined on line 2"),
        ("pods:\n  - {name: 'p[1-3]', host: 'h[1-2]'}\n", ":2: pods[0].host: range gives 2 values but the name range gives 3"),
        ("pods:\n  - {name: 'p[3-1]', host: h}\n", ":2: pods[0].name: range 3-1"),
        ("pods: [\n", ":2: not valid YAML"),
        ("defaults:\n  port: [1]\npods: []\n", ":2: defaults.port: expected a port number"),
    ])
    func malformedInventoriesNameFileLineAndField(yaml: String, expected: String) throws {
        let path = try write(yaml)
        let error = try #require(throws: ControllerError.self) { try Inventory.load(path: path, home: "/h") }
        #expect(error.message.hasPrefix(path), "\(error.message)")
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(error.programExit.rawValue == 2)
    }

    func selector() -> TargetSelector {
        let pods = (1...8).map { Pod(name: String(format: "pod%02d", $0), host: "10.0.0.\($0)", labels: $0 <= 2 ? ["maptr"] : []) }
        let config = SSHConfigHosts.parse("""
            Host devbox other
              HostName 192.168.1.5
              Port 2222
              User alice
              IdentityFile ~/.ssh/dev
            Host *
              User nobody
            """, home: "/home/me")
        return TargetSelector(inventory: Inventory(pods: pods, path: "fleet.yaml"), sshConfig: config,
                              fallback: Pod(name: "", host: "", user: "root"))
    }

    @Test func selectsByPatternLabelInlineAndSSHConfig() throws {
        let s = selector()
        #expect(try s.select(TargetSpec()).count == 8)
        #expect(try s.select(TargetSpec(patterns: ["pod[01-03,07]"])).map(\.name) == ["pod01", "pod02", "pod03", "pod07"])
        #expect(try s.select(TargetSpec(patterns: ["pod0*"], excludes: ["pod[02-07]"])).map(\.name) == ["pod01", "pod08"])
        #expect(try s.select(TargetSpec(groups: ["maptr"])).map(\.name) == ["pod01", "pod02"])
        let inline = try s.select(TargetSpec(patterns: ["ubuntu@1.2.3.4:2200"]))
        #expect(inline == [Pod(name: "ubuntu@1.2.3.4:2200", host: "1.2.3.4", port: 2200, user: "ubuntu")])
        let dev = try #require(try s.select(TargetSpec(patterns: ["devbox"])).first)
        #expect(dev.host == "192.168.1.5" && dev.port == 2222 && dev.user == "alice" && dev.identity == "/home/me/.ssh/dev")
    }

    @Test func unknownTargetsAreErrors() {
        let s = selector()
        #expect(throws: ControllerError.self) { try s.select(TargetSpec(patterns: ["pod99"])) }
        #expect(throws: ControllerError.self) { try s.select(TargetSpec(groups: ["nolabel"])) }
        #expect(throws: ControllerError.self) { try s.select(TargetSpec(patterns: ["root@host:notaport"])) }
        #expect(throws: ControllerError.self) { try s.select(TargetSpec(patterns: ["pod01"], excludes: ["pod01"])) }
    }
}
