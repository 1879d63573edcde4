import MiniYAML

/// Typed reads of YAML nodes whose errors name the file, the dotted key and its line.
struct NodeReader {
    let path: String

    func fail(_ key: String, _ node: YAMLNode?, _ problem: String) -> PluginError {
        let line = node.map { " (line \($0.mark.line))" } ?? ""
        return PluginError(.invalidManifest, "\(path): key '\(key)'\(line): \(problem)")
    }

    func mapping(_ node: YAMLNode, _ key: String, allowed: Set<String>) throws(PluginError) -> YAMLMapping {
        guard let mapping = node.mapping else { throw fail(key, node, "expected a mapping") }
        for (name, _) in mapping {
            guard let text = name.string, allowed.contains(text) else {
                let full = key.isEmpty ? (name.string ?? "?") : "\(key).\(name.string ?? "?")"
                throw fail(full, name, "unknown key (known: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
        return mapping
    }

    func child(_ mapping: YAMLMapping, _ parent: String, _ name: String) -> (String, YAMLNode?) {
        (parent.isEmpty ? name : "\(parent).\(name)", mapping[name])
    }

    func string(_ mapping: YAMLMapping, _ parent: String, _ name: String) throws(PluginError) -> String {
        let (key, node) = child(mapping, parent, name)
        guard let node else { throw fail(key, nil, "missing") }
        guard let scalar = node.scalar, !scalar.string.isEmpty else { throw fail(key, node, "expected a non-empty string") }
        return scalar.string
    }

    func optionalString(_ mapping: YAMLMapping, _ parent: String, _ name: String) throws(PluginError) -> String? {
        guard mapping[name] != nil else { return nil }
        return try string(mapping, parent, name)
    }

    func number(_ mapping: YAMLMapping, _ parent: String, _ name: String, default value: Double? = nil, range: ClosedRange<Double>) throws(PluginError) -> Double {
        let (key, node) = child(mapping, parent, name)
        guard let node else {
            if let value { return value }
            throw fail(key, nil, "missing")
        }
        guard let number = node.float ?? node.int.map(Double.init), number.isFinite else { throw fail(key, node, "expected a number, got '\(node.string ?? "?")'") }
        guard range.contains(number) else { throw fail(key, node, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    func integer(_ mapping: YAMLMapping, _ parent: String, _ name: String, default value: Int, range: ClosedRange<Int>) throws(PluginError) -> Int {
        let (key, node) = child(mapping, parent, name)
        guard let node else { return value }
        guard let number = node.int else { throw fail(key, node, "expected an integer, got '\(node.string ?? "?")'") }
        guard range.contains(number) else { throw fail(key, node, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    func flag(_ mapping: YAMLMapping, _ parent: String, _ name: String) throws(PluginError) -> Bool {
        let (key, node) = child(mapping, parent, name)
        guard let node else { return false }
        guard let value = node.bool else { throw fail(key, node, "expected true or false, got '\(node.string ?? "?")'") }
        return value
    }

    func strings(_ mapping: YAMLMapping, _ parent: String, _ name: String, required: Bool = true) throws(PluginError) -> [String]? {
        let (key, node) = child(mapping, parent, name)
        guard let node else {
            if required { throw fail(key, nil, "missing") }
            return nil
        }
        guard let sequence = node.sequence, !sequence.isEmpty else { throw fail(key, node, "expected a non-empty list of strings") }
        var result: [String] = []
        for (index, item) in sequence.enumerated() {
            guard let scalar = item.scalar, !scalar.string.isEmpty else { throw fail("\(key)[\(index)]", item, "expected a non-empty string") }
            result.append(scalar.string)
        }
        return result
    }

    func numbers(_ mapping: YAMLMapping, _ parent: String, _ name: String, count: Int) throws(PluginError) -> [Double] {
        let (key, node) = child(mapping, parent, name)
        guard let node else { throw fail(key, nil, "missing") }
        guard let sequence = node.sequence, sequence.count == count else { throw fail(key, node, "expected a list of \(count) numbers") }
        var result: [Double] = []
        for (index, item) in sequence.enumerated() {
            guard let number = item.float ?? item.int.map(Double.init), number.isFinite else { throw fail("\(key)[\(index)]", item, "expected a number") }
            result.append(number)
        }
        return result
    }

    /// `worker.options`: a mapping of plain values (numbers, booleans, strings, lists of them).
    func options(_ node: YAMLNode?) throws(PluginError) -> [String: JSONValue] {
        guard let node else { return [:] }
        guard let mapping = node.mapping else { throw fail("worker.options", node, "expected a mapping") }
        var result: [String: JSONValue] = [:]
        for (name, value) in mapping {
            guard let key = name.string else { throw fail("worker.options", name, "expected string keys") }
            result[key] = try plain(value, key: "worker.options.\(key)")
        }
        return result
    }

    private func plain(_ node: YAMLNode, key: String) throws(PluginError) -> JSONValue {
        if let sequence = node.sequence {
            var items: [JSONValue] = []
            for item in sequence { items.append(try plain(item, key: key)) }
            return .array(items)
        }
        guard let scalar = node.scalar else { throw fail(key, node, "expected a plain value or a list") }
        if scalar.style == .plain {
            if let flag = node.bool { return .bool(flag) }
            if let number = node.int { return .number(Double(number)) }
            if let number = node.float, number.isFinite { return .number(number) }
            if scalar.string == "~" || scalar.string == "null" { return .null }
        }
        return .string(scalar.string)
    }

    func manifest(_ root: YAMLNode) throws(PluginError) -> PluginManifest {
        let top = try mapping(root, "", allowed: [
            "name", "version", "parser", "tasks", "upstream", "config", "checkpoint", "class_names", "map_class_names",
            "default_score_threshold", "point_cloud_range", "versions", "worker", "timeout_seconds", "retries", "config_checks",
            "synthetic", "use_external", "environment",
        ])
        let synthetic = try flag(top, "", "synthetic")
        let taskNames = try strings(top, "", "tasks") ?? []
        var tasks: [PluginManifest.TaskKind] = []
        for (index, name) in taskNames.enumerated() {
            guard let kind = PluginManifest.TaskKind(rawValue: name) else {
                throw fail("tasks[\(index)]", top["tasks"], "unknown task kind '\(name)' (known: \(PluginManifest.TaskKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            tasks.append(kind)
        }
        // A synthetic model (Demo) has no upstream, files or software stack: those keys may be left out.
        let upstreamNode = top["upstream"] ?? (synthetic ? YAMLNode.mapping(YAMLMapping(mark: top.mark)) : nil)
        guard let upstreamNode else { throw fail("upstream", nil, "missing") }
        let upstream = try mapping(upstreamNode, "upstream", allowed: ["repository", "commit"])
        let commit = synthetic && upstream["commit"] == nil ? "" : try string(upstream, "upstream", "commit")
        guard synthetic && commit.isEmpty || commit.count >= 7 && commit.allSatisfy(\.isHexDigit) else {
            throw fail("upstream.commit", upstream["commit"], "expected a commit hash of at least 7 hex digits, got '\(commit)'")
        }
        let checkpointNode = top["checkpoint"] ?? (synthetic ? YAMLNode.mapping(YAMLMapping(mark: top.mark)) : nil)
        guard let checkpointNode else { throw fail("checkpoint", nil, "missing") }
        let checkpoint = try mapping(checkpointNode, "checkpoint", allowed: ["file", "sha256"])
        let sha = try optionalString(checkpoint, "checkpoint", "sha256")?.lowercased()
        if let sha, sha.count != 64 || !sha.allSatisfy(\.isHexDigit) {
            throw fail("checkpoint.sha256", checkpoint["sha256"], "expected 64 hex digits")
        }
        let versionsNode = top["versions"] ?? (synthetic ? YAMLNode.mapping(YAMLMapping(mark: top.mark)) : nil)
        guard let versionsNode else { throw fail("versions", nil, "missing") }
        let versions = try mapping(versionsNode, "versions", allowed: ["pytorch", "cuda", "mmcv", "mmdet3d", "mmdet", "base_image"])
        func required(_ map: YAMLMapping, _ parent: String, _ name: String) throws(PluginError) -> String {
            if synthetic && map[name] == nil { return "" }
            return try string(map, parent, name)
        }
        guard let workerNode = top["worker"] else { throw fail("worker", nil, "missing") }
        let worker = try mapping(workerNode, "worker", allowed: ["command", "mode", "options"])
        let modeName = try string(worker, "worker", "mode")
        guard let mode = PluginManifest.Worker.Mode(rawValue: modeName) else {
            throw fail("worker.mode", worker["mode"], "unknown mode '\(modeName)' (known: warm, oneshot)")
        }
        let command = try strings(worker, "worker", "command") ?? []
        if mode == .oneshot {
            // The template must say where the request's inputs go and where the raw output comes back.
            for placeholder in ["{input}", "{output}"] where !command.contains(where: { $0.contains(placeholder) }) {
                throw fail("worker.command", worker["command"], "a oneshot command template must use \(placeholder)")
            }
        }
        var checks: PluginManifest.ConfigChecks?
        if let checksNode = top["config_checks"] {
            let map = try mapping(checksNode, "config_checks", allowed: [
                "class_names_variable", "num_classes_path", "point_cloud_range_variable", "map_class_names_variable",
            ])
            checks = PluginManifest.ConfigChecks(
                classNamesVariable: try optionalString(map, "config_checks", "class_names_variable"),
                numClassesPath: try optionalString(map, "config_checks", "num_classes_path"),
                pointCloudRangeVariable: try optionalString(map, "config_checks", "point_cloud_range_variable"),
                mapClassNamesVariable: try optionalString(map, "config_checks", "map_class_names_variable"))
        }
        let range = try numbers(top, "", "point_cloud_range", count: 6)
        guard range[0] < range[3], range[1] < range[4], range[2] < range[5] else {
            throw fail("point_cloud_range", top["point_cloud_range"], "expected [xmin, ymin, zmin, xmax, ymax, zmax] with each min below its max")
        }
        return PluginManifest(
            name: try string(top, "", "name"),
            version: try string(top, "", "version"),
            parser: try string(top, "", "parser"),
            tasks: tasks,
            upstream: .init(repository: try required(upstream, "upstream", "repository"), commit: commit),
            config: try required(top, "", "config"),
            checkpoint: .init(file: try required(checkpoint, "checkpoint", "file"), sha256: sha),
            classNames: try strings(top, "", "class_names") ?? [],
            mapClassNames: try strings(top, "", "map_class_names", required: false),
            defaultScoreThreshold: try number(top, "", "default_score_threshold", range: 0...1),
            pointCloudRange: range,
            versions: .init(
                pytorch: try required(versions, "versions", "pytorch"), cuda: try required(versions, "versions", "cuda"),
                mmcv: try required(versions, "versions", "mmcv"), mmdet3d: try optionalString(versions, "versions", "mmdet3d"),
                mmdet: try optionalString(versions, "versions", "mmdet"), baseImage: try required(versions, "versions", "base_image")),
            worker: .init(command: command, mode: mode, options: try options(worker["options"])),
            timeoutSeconds: try number(top, "", "timeout_seconds", default: 600, range: 1...86400),
            retries: try integer(top, "", "retries", default: 0, range: 0...100),
            configChecks: checks,
            useExternal: try flag(top, "", "use_external"),
            environment: try environment(top["environment"]),
            synthetic: synthetic ? true : nil,
            sourcePath: path)
    }
}
