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
        let environment = try #require(m.environment)
        let text = try DockerfileGenerator().dockerfile(for: m)
        #expect(text.contains("FROM \(m.versions.baseImage)\n"))
        #expect(text.contains("-f https://download.openmmlab.com/mmcv/dist/cu111/torch1.9.0/index.html mmcv-full==\(m.versions.mmcv)"))
        for package in environment.packages {
            #expect(text.contains(" \(package.name)==\(package.version)"), "\(package.name) is pinned")
            #expect(text.contains("# \(package.name) \(package.version): \(package.cite)"), "\(package.name) cites its source")
        }
        #expect(text.contains("git checkout -q --detach \(m.upstream.commit) \\\n"))
        #expect(text.contains("if [ \"$head\" != \"\(m.upstream.commit)\" ]; then"))
        #expect(text.contains("podagent.upstream.commit=\"\(m.upstream.commit)\""))
        #expect(text.contains("pip install -c /opt/podagent/constraints.txt --no-deps --no-build-isolation -e /opt/models/MapTR/mmdetection3d"))
        #expect(text.contains("torch.cuda.is_available = lambda: True"), "the GKT op's setup.py asks for a GPU")
        #expect(text.contains("TORCH_CUDA_ARCH_LIST=\"\(environment.cudaArchitectures.targets.joined(separator: " "))\""))
        #expect(text.contains("--swift-sdk x86_64-swift-linux-musl --product podagent"))
        #expect(!text.lowercased().contains("chpasswd"))
        #expect(!text.contains("\nUSER "))
        let petr = try DockerfileGenerator().dockerfile(for: manifest("PETR"))
        #expect(petr.contains("git checkout -q --detach f1107977dfd26155fc1f83779ee6535d2468f449 \\\n"), "the companion at its full commit")
        #expect(petr.contains("podagent.companion.mmdetection3d.commit=\"f1107977dfd26155fc1f83779ee6535d2468f449\""))
        #expect(petr.contains("RUN python3.6 -m venv /opt/venv"))
    }

    @Test func refusesWhatCannotGoIntoARecipe() throws {
        let base = try manifest()
        let cases: [(String, (inout PluginManifest) -> Void)] = [
            ("upstream.commit", { $0.upstream.commit = "main" }),
            ("upstream.commit", { $0.upstream.commit = "a6872d8" }),
            ("upstream.commit", { $0.upstream.commit = "a6872d8d9670bde17b4b01560f1221f88b443d5" }),
            ("upstream.repository", { $0.upstream.repository = "git@github.com:hustvl/MapTR.git" }),
            ("upstream.repository", { $0.upstream.repository = "https://github.com/x/y; rm -rf /" }),
            ("versions.base_image", { $0.versions.baseImage = "ubuntu:18.04 && curl x" }),
            ("versions.mmcv", { $0.versions.mmcv = "1.4.0 -i https://evil" }),
            ("versions.pytorch", { $0.versions.pytorch = "latest" }),
            ("environment", { $0.environment = nil }),
            // The summary must say what the environment installs.
            ("versions.mmdet3d", { $0.versions.mmdet3d = "0.17.1" }),
            ("versions.mmdet", { $0.versions.mmdet = nil }),
            ("versions.pytorch", { $0.versions.pytorch = "1.9.0" }),
            ("versions.cuda", { $0.versions.cuda = "11.3" }),
            ("environment.packages (mmcv-full)", { m in
                guard var environment = m.environment, let index = environment.packages.firstIndex(where: { $0.name == "mmcv-full" }) else { return }
                environment.packages[index].findLinks = "https://download.openmmlab.com/mmcv/dist/cu102/torch1.9.0/index.html"
                m.environment = environment
            }),
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
