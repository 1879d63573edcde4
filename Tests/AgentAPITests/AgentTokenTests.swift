import AgentAPI
import Foundation
import Testing
import TestProcesses

/// The one token rule, on real files: flag, then the program's variable, then the configured file.
@Suite("AgentToken: one order for podagent and podctl")
struct AgentTokenTests {
    let dir: String

    init() throws { dir = try Shell.temporaryDirectory("token") }

    func file(_ name: String, _ text: String) throws -> String {
        let path = "\(dir)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theOrderIsFlagThenVariableThenConfiguredFile() throws {
        let flag = try file("flag", "from-flag\n")
        let configured = try file("configured", "  from-config \n")
        func resolve(_ flag: String?, _ environment: [String: String], _ rule: AgentToken.Rule = .podagent) throws -> AgentToken? {
            try AgentToken.resolve(flagFile: flag, environment: environment, configuredFile: configured, rule: rule)
        }
        let fromFlag = try #require(try resolve(flag, ["PODAGENT_TOKEN": "from-variable"]))
        #expect(fromFlag.value == "from-flag" && fromFlag.source == "--token-file \(flag)" && fromFlag.file == flag)
        let fromVariable = try #require(try resolve(nil, ["PODAGENT_TOKEN": " from-variable\n"]))
        #expect(fromVariable.value == "from-variable" && fromVariable.source == "environment variable PODAGENT_TOKEN" && fromVariable.file == nil)
        let fromFile = try #require(try resolve(nil, [:]))
        #expect(fromFile.value == "from-config" && fromFile.source == "api.token_file \(configured)")
        // Each program reads its own variable: podctl's shell may hold an agent's PODAGENT_TOKEN for another agent.
        #expect(try resolve(nil, ["PODAGENT_TOKEN": "agents"], .podctl)?.value == "from-config")
        #expect(try resolve(nil, ["PODCTL_TOKEN": "podctls"], .podctl)?.value == "podctls")
        #expect(try resolve(nil, ["PODCTL_TOKEN": "podctls"], .podctl)?.source == "environment variable PODCTL_TOKEN")
        #expect(try AgentToken.resolve(flagFile: nil, environment: [:], configuredFile: nil, rule: .podctl) == nil)
        #expect(AgentToken.Rule.podctl.help == "--token-file, else PODCTL_TOKEN, else the pod's token_file")
    }

    @Test func emptyOrUnreadableSourcesAreErrorsNotFallThroughs() throws {
        let blank = try file("blank", " \n\t\n")
        let cases: [(String?, [String: String], String?, String)] = [
            (nil, ["PODAGENT_TOKEN": ""], nil, "environment variable PODAGENT_TOKEN: the API token is empty"),
            (blank, [:], nil, "--token-file \(blank): the API token is empty"),
            ("\(dir)/missing", [:], nil, "--token-file \(dir)/missing: cannot be read"),
            (nil, [:], dir, "api.token_file \(dir): cannot be read"),
        ]
        for (flag, environment, configured, message) in cases {
            let error = #expect(throws: AgentAPIError.self) {
                _ = try AgentToken.resolve(flagFile: flag, environment: environment, configuredFile: configured, rule: .podagent)
            }
            #expect(error?.code == .usage && error?.message == message && error?.programExit.rawValue == 2)
        }
    }

    @Test func theTokenNeverShowsInItsDescription() throws {
        let token = try AgentToken("s3cret-value", source: "test")
        #expect("\(token)" == "<token from test>" && !String(reflecting: token).isEmpty)
    }
}
