import MiniYAML
import PodAgentExtras

extension NodeReader {
    /// `environment`: the model's whole software environment (``PluginManifest/Environment``).
    func environment(_ node: YAMLNode?) throws(PluginError) -> PluginManifest.Environment? {
        guard let node else { return nil }
        let key = "environment"
        let top = try mapping(node, key, allowed: [
            "python", "system_packages", "cuda_architectures", "build_tools", "packages", "repositories", "develop", "ops",
        ])
        guard let pythonNode = top["python"] else { throw fail("\(key).python", nil, "missing") }
        let python = try mapping(pythonNode, "\(key).python", allowed: ["version", "cite"])
        let pythonVersion = try string(python, "\(key).python", "version")
        guard pythonVersion.split(separator: ".").count == 2, pythonVersion.split(separator: ".").allSatisfy({ $0.allSatisfy(\.isNumber) }) else {
            throw fail("\(key).python.version", python["version"], "expected major.minor like 3.8, got '\(pythonVersion)'")
        }
        guard let archNode = top["cuda_architectures"] else { throw fail("\(key).cuda_architectures", nil, "missing") }
        let arch = try mapping(archNode, "\(key).cuda_architectures", allowed: ["targets", "cite"])
        let targets = try architectures(arch, "\(key).cuda_architectures", "targets") ?? []
        return PluginManifest.Environment(
            python: .init(version: pythonVersion, cite: try string(python, "\(key).python", "cite")),
            systemPackages: try list(top, key, "system_packages") { item, where_ throws(PluginError) in
                let map = try mapping(item, where_, allowed: ["name", "cite"])
                let name = try string(map, where_, "name")
                guard name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || ".+-".contains($0)) }) else {
                    throw fail("\(where_).name", map["name"], "expected a Debian package name, got '\(name)'")
                }
                return .init(name: name, cite: try string(map, where_, "cite"))
            },
            cudaArchitectures: .init(targets: targets, cite: try string(arch, "\(key).cuda_architectures", "cite")),
            buildTools: try list(top, key, "build_tools") { item, where_ throws(PluginError) in try package(item, where_) },
            packages: try list(top, key, "packages") { item, where_ throws(PluginError) in try package(item, where_) },
            repositories: try list(top, key, "repositories") { item, where_ throws(PluginError) in
                let map = try mapping(item, where_, allowed: ["path", "repository", "commit", "tag", "version", "develop", "modules", "cite"])
                return .init(
                    path: try relativePath(map, where_, "path"), repository: try string(map, where_, "repository"),
                    commit: try fullCommit(map, where_, "commit"), tag: try optionalString(map, where_, "tag"),
                    version: try optionalString(map, where_, "version"), develop: try flag(map, where_, "develop"),
                    modules: try strings(map, where_, "modules") ?? [], cite: try string(map, where_, "cite"))
            },
            develop: try list(top, key, "develop") { item, where_ throws(PluginError) in
                let map = try mapping(item, where_, allowed: ["path", "version", "modules", "cite"])
                return .init(
                    path: try relativePath(map, where_, "path"), version: try optionalString(map, where_, "version"),
                    modules: try strings(map, where_, "modules") ?? [], cite: try string(map, where_, "cite"))
            },
            ops: try list(top, key, "ops") { item, where_ throws(PluginError) in
                let map = try mapping(item, where_, allowed: ["path", "modules", "setup_asks_for_a_gpu", "cite"])
                return .init(
                    path: try relativePath(map, where_, "path"), modules: try strings(map, where_, "modules") ?? [],
                    setupAsksForAGPU: try flag(map, where_, "setup_asks_for_a_gpu"), cite: try string(map, where_, "cite"))
            })
    }

    private func list<T>(
        _ top: YAMLMapping, _ parent: String, _ name: String, _ read: (YAMLNode, String) throws(PluginError) -> T
    ) throws(PluginError) -> [T] {
        let (key, node) = child(top, parent, name)
        guard let node else { return [] }
        guard let sequence = node.sequence else { throw fail(key, node, "expected a list") }
        var items: [T] = []
        for (index, item) in sequence.enumerated() { items.append(try read(item, "\(key)[\(index)]")) }
        return items
    }

    private func package(_ node: YAMLNode, _ key: String) throws(PluginError) -> PluginManifest.Environment.Package {
        let map = try mapping(node, key, allowed: [
            "name", "version", "find_links", "index_url", "extra_index_url", "modules", "no_build_isolation", "cuda_architectures", "cite",
        ])
        let name = try string(map, key, "name")
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw fail("\(key).name", map["name"], "expected a package name, got '\(name)'")
        }
        let version = try string(map, key, "version")
        guard let first = version.first, first.isNumber, version.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".+-".contains($0)) }) else {
            throw fail("\(key).version", map["version"], "expected an exact version like 1.9.1+cu111, got '\(version)' (ranges are not pins)")
        }
        var urls: [String: String] = [:]
        for field in ["find_links", "index_url", "extra_index_url"] {
            guard let url = try optionalString(map, key, field) else { continue }
            guard url.hasPrefix("https://"), url.allSatisfy({ $0.isASCII && !$0.isWhitespace && !"'\"\\`$;&|<>(){}".contains($0) }) else {
                throw fail("\(key).\(field)", map[field], "expected an https:// URL without spaces or shell characters, got '\(url)'")
            }
            urls[field] = url
        }
        return .init(
            name: name, version: version, findLinks: urls["find_links"], indexURL: urls["index_url"], extraIndexURL: urls["extra_index_url"],
            modules: try strings(map, key, "modules", required: false), noBuildIsolation: try flag(map, key, "no_build_isolation"),
            cudaArchitectures: try architectures(map, key, "cuda_architectures"), cite: try string(map, key, "cite"))
    }

    /// TORCH_CUDA_ARCH_LIST entries: `8.0`, `8.6+PTX`.
    private func architectures(_ map: YAMLMapping, _ parent: String, _ name: String) throws(PluginError) -> [String]? {
        guard let values = try strings(map, parent, name, required: false) else { return nil }
        for value in values {
            let parts = value.replacingLiteral("+PTX", with: "").split(separator: ".")
            guard parts.count == 2, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) else {
                throw fail("\(parent).\(name)", map[name], "expected architectures like 8.0 or 8.6+PTX, got '\(value)'")
            }
        }
        return values
    }

    /// A commit as a full 40-hex hash: an image is only built from exactly that code.
    func fullCommit(_ map: YAMLMapping, _ parent: String, _ name: String) throws(PluginError) -> String {
        let commit = try string(map, parent, name).lowercased()
        guard commit.count == 40, commit.allSatisfy(\.isHexDigit) else {
            throw fail("\(parent).\(name)", map[name], "expected a full 40-hex commit hash, got '\(commit)'")
        }
        return commit
    }

    /// A path inside the model's folder: relative, no `..`, no odd characters.
    private func relativePath(_ map: YAMLMapping, _ parent: String, _ name: String) throws(PluginError) -> String {
        let path = try string(map, parent, name)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
              path.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-/".contains($0)) })
        else {
            throw fail("\(parent).\(name)", map[name], "expected a relative path inside the model's folder (no '..'), got '\(path)'")
        }
        return path
    }
}
