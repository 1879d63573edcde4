/// Compares the literal assignments of a model's Python config with its manifest (what `validate` checks).
///
/// The literals come from `Plugins/read_config.py` (Python's `ast`, no mmcv): `{"assignments": {name: value},
/// "keywords": {"model.head.num_classes": 10}}`. Running that helper is the caller's job.
public enum ConfigCheck {
    /// Every disagreement, one sentence each naming the config key; empty when the config agrees.
    public static func problems(manifest: PluginManifest, literals: JSONValue, configPath: String) throws(PluginError) -> [String] {
        guard let assignments = literals["assignments"], let keywords = literals["keywords"] else {
            throw PluginError(.malformedJSON, "the config reader's output has no 'assignments'/'keywords'")
        }
        guard let checks = manifest.configChecks else { return [] }
        var problems: [String] = []
        func strings(_ value: JSONValue?) -> [String]? {
            guard let items = value?.arrayValue else { return nil }
            let texts = items.compactMap(\.stringValue)
            return texts.count == items.count ? texts : nil
        }
        func compareNames(_ variable: String?, _ expected: [String]?, what: String) {
            guard let variable, let expected else { return }
            guard let value = assignments[variable] else {
                problems.append("\(configPath): '\(variable)' is not assigned a literal list (the plugin expects the \(what))")
                return
            }
            guard let names = strings(value) else {
                problems.append("\(configPath): '\(variable)' is not a list of strings")
                return
            }
            if names != expected {
                problems.append("\(configPath): '\(variable)' is \(names) but the plugin's \(what) are \(expected)")
            }
        }
        compareNames(checks.classNamesVariable, manifest.classNames, what: "class names")
        compareNames(checks.mapClassNamesVariable, manifest.mapClassNames, what: "map class names")
        if let path = checks.numClassesPath {
            if let value = keywords[path]?.numberValue {
                if value != Double(manifest.classNames.count) {
                    problems.append("\(configPath): '\(path)' is \(JSONNumber.text(value)) but the plugin has \(manifest.classNames.count) classes")
                }
            } else {
                problems.append("\(configPath): '\(path)' is not set to a literal number")
            }
        }
        if let variable = checks.pointCloudRangeVariable {
            let numbers = assignments[variable]?.arrayValue?.compactMap(\.numberValue)
            if let numbers, numbers.count == 6 {
                if zip(numbers, manifest.pointCloudRange).contains(where: { abs($0 - $1) > 1e-6 }) {
                    problems.append("\(configPath): '\(variable)' is \(JSONNumber.list(numbers)) but the plugin's point-cloud range is \(JSONNumber.list(manifest.pointCloudRange))")
                }
            } else {
                problems.append("\(configPath): '\(variable)' is not a literal list of 6 numbers")
            }
        }
        // The exports write it as nuScenes meta.use_external; compared whenever the config sets it literally.
        if case .bool(let configured)? = keywords["input_modality.use_external"], configured != manifest.useExternal {
            problems.append("\(configPath): 'input_modality.use_external' is \(configured) but the plugin's use_external is \(manifest.useExternal)")
        }
        return problems
    }
}

enum JSONNumber {
    static func list(_ values: [Double]) -> String { "[" + values.map(text).joined(separator: ", ") + "]" }

    static func text(_ value: Double) -> String {
        var out: [UInt8] = []
        JSONWriter.appendNumber(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
