import Foundation
import Plugins
import Testing

@testable import Agent

/// The recipe generator's own checks, on the real manifests edited in memory (the loader already
/// refuses some of these; the generator must not rely on that). The full recipe rules are checked by
/// Tests/images/test_images.py with dockerfile-parse.
@Suite struct DockerfileGeneratorTests {
    func manifest(_ name: String = "MapTR") throws -> PluginManifest {
        try ManifestLoader.load(path: TestSupport.repoRoot.appendingPathComponent("Plugins/\(name)/plugin.yaml").path)
    }

    @Test func wheelIndexFollowsOpenMMLabsLayout() throws {
        #expect(try OpenMMLabWheels.indexURL(pytorch: "1.9.1", cuda: "11.1", source: "m") == "https://download.openmmlab.com/mmcv/dist/cu111/torch1.9.0/index.html")
        #expect(try OpenMMLabWheels.indexURL(pytorch: "1.10.2", cuda: "10.2", source: "m") == "https://download.openmmlab.com/mmcv/dist/cu102/torch1.10.0/index.html")
        #expect(try OpenMMLabWheels.indexURL(pytorch: "1.9.0", cuda: "cpu", source: "m") == "https://download.openmmlab.com/mmcv/dist/cpu/torch1.9.0/index.html")
        #expect(OpenMMLabWheels.mmcvPackage(version: "1.4.0") == "mmcv-full")
        #expect(OpenMMLabWheels.mmcvPackage(version: "2.1.0") == "mmcv")
        let error = #expect(throws: AgentError.self) { try OpenMMLabWheels.indexURL(pytorch: "1.9.1", cuda: "eleven", source: "x/plugin.yaml") }
        #expect(error?.message == "x/plugin.yaml: key 'versions.cuda': expected a version like 11.1, got 'eleven'")
    }

    @Test func recipeCarriesTheManifestsPins() throws {
        let m = try manifest()
        let text = try DockerfileGenerator().dockerfile(for: m)
        #expect(text.contains("FROM \(m.versions.baseImage)\n"))
        #expect(text.contains("mmcv-full==\(m.versions.mmcv) -f https://download.openmmlab.com/mmcv/dist/cu111/torch1.9.0/index.html"))
        #expect(text.contains("git checkout -q --detach \(m.upstream.commit)"))
        #expect(text.contains("--swift-sdk x86_64-swift-linux-musl --product podagent"))
        #expect(!text.lowercased().contains("chpasswd"))
    }

    @Test func refusesWhatCannotGoIntoARecipe() throws {
        let base = try manifest()
        let cases: [(String, (inout PluginManifest) -> Void)] = [
            ("upstream.commit", { $0.upstream.commit = "main" }),
            ("upstream.commit", { $0.upstream.commit = "a6872d" }),
            ("upstream.repository", { $0.upstream.repository = "git@github.com:hustvl/MapTR.git" }),
            ("upstream.repository", { $0.upstream.repository = "https://github.com/x/y; rm -rf /" }),
            ("versions.base_image", { $0.versions.baseImage = "ubuntu:18.04 && curl x" }),
            ("versions.mmcv", { $0.versions.mmcv = "1.4.0 -i https://evil" }),
            ("versions.pytorch", { $0.versions.pytorch = "latest" }),
            ("versions", { $0.versions.mmdet3d = nil; $0.versions.mmdet = nil }),
        ]
        for (key, edit) in cases {
            var m = base
            edit(&m)
            let error = #expect(throws: AgentError.self) { try DockerfileGenerator().dockerfile(for: m) }
            #expect(error?.code == .invalidConfig)
            #expect(error?.message.hasPrefix("\(m.sourcePath): key '\(key)':") == true, "\(error?.message ?? "no error")")
        }
    }

    @Test func syntheticModelsGetNoRecipe() throws {
        var m = try manifest()
        m.parser = "demo"
        let error = #expect(throws: AgentError.self) { try DockerfileGenerator().dockerfile(for: m) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("synthetic") == true)
    }

    @Test func writeAllWritesNothingWhenOneManifestIsBad() throws {
        let good = try manifest("MapTR")
        var bad = try manifest("PETR")
        bad.upstream.commit = "develop"
        let directory = try TestSupport.temporaryDirectory("images")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: AgentError.self) { try ImageRecipes.writeAll(manifests: [good, bad], into: directory) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        let result = try ImageRecipes.writeAll(manifests: [good], into: directory)
        #expect(result.written == ["\(directory)/MapTR/Dockerfile"])
        #expect(try String(contentsOfFile: "\(directory)/MapTR/Dockerfile", encoding: .utf8) == DockerfileGenerator().dockerfile(for: good))
    }
}
