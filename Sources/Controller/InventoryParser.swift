import Foundation
import Yams

/// Turns fleet YAML into pods, expanding name/host/port ranges and applying defaults.
struct InventoryParser {
    let file: String
    let home: String

    private static let podKeys: Set<String> = ["name", "host", "port", "user", "identity", "labels", "agent_port", "runpod_id", "token_file", "agent_url"]
    private static let defaultKeys: Set<String> = ["host", "port", "user", "identity", "labels", "agent_port", "token_file", "agent_url"]

    private func fail(_ node: Node?, _ field: String, _ problem: String) -> ControllerError {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        return ControllerError(.inventory, "\(file)\(line): \(field): \(problem)")
    }

    func parse(_ text: String) throws(ControllerError) -> [Pod] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ControllerError(.inventory, "\(file)\(Self.describe(error))")
        } catch {
            throw ControllerError(.inventory, "\(file): not valid YAML: \(error)")
        }
        guard let root, let top = root.mapping else {
            throw fail(root, "(top level)", "expected a mapping with 'pods' (and optional 'defaults')")
        }
        for key in top.keys where !["defaults", "pods"].contains(key.string ?? "") {
            throw fail(key, key.string ?? "?", "unknown key (expected 'defaults' or 'pods')")
        }
        var defaults = Pod(name: "", host: "")
        var defaultHost: String?
        var defaultAgentURL: AgentURLTemplate?
        if let node = top["defaults"] {
            guard let mapping = node.mapping else { throw fail(node, "defaults", "expected a mapping") }
            for (key, value) in mapping {
                let name = key.string ?? "?"
                guard Self.defaultKeys.contains(name) else { throw fail(key, "defaults.\(name)", "unknown field") }
                let field = "defaults.\(name)"
                switch name {
                case "host": defaultHost = try string(value, field)
                case "port": defaults.port = try port(value, field)
                case "user": defaults.user = try string(value, field)
                case "identity": defaults.identity = expandTilde(try string(value, field), home: home)
                case "labels": defaults.labels = try labels(value, field)
                case "token_file": defaults.tokenFile = expandTilde(try string(value, field), home: home)
                case "agent_url": defaultAgentURL = AgentURLTemplate(text: try string(value, field), node: value, field: field, fromDefaults: true)
                default: defaults.agentPort = try port(value, field)
                }
            }
        }
        guard let podsNode = top["pods"] else { throw fail(root, "pods", "missing (a list of pods)") }
        guard let list = podsNode.sequence else { throw fail(podsNode, "pods", "expected a list") }
        var pods: [Pod] = []
        var seen: [String: Int] = [:]
        for (index, entry) in list.enumerated() {
            for pod in try parsePod(entry, index: index, defaults: defaults, defaultHost: defaultHost, defaultAgentURL: defaultAgentURL) {
                if let line = seen[pod.name] {
                    throw fail(entry, "pods[\(index)].name", "'\(pod.name)' is already defined on line \(line)")
                }
                seen[pod.name] = entry.mark?.line ?? 0
                pods.append(pod)
            }
        }
        return pods
    }

    private func parsePod(_ entry: Node, index: Int, defaults: Pod, defaultHost: String?,
                          defaultAgentURL: AgentURLTemplate?) throws(ControllerError) -> [Pod] {
        let at = "pods[\(index)]"
        guard let mapping = entry.mapping else { throw fail(entry, at, "expected a mapping with name and host") }
        for key in mapping.keys where !Self.podKeys.contains(key.string ?? "") {
            throw fail(key, "\(at).\(key.string ?? "?")", "unknown field (expected one of \(Self.podKeys.sorted().joined(separator: ", ")))")
        }
        guard let nameNode = mapping["name"] else { throw fail(entry, "\(at).name", "missing") }
        let namePattern = try string(nameNode, "\(at).name")
        let names = try expand(namePattern, nameNode, "\(at).name")
        let hosts: [String]
        if let hostNode = mapping["host"] {
            hosts = try expand(try string(hostNode, "\(at).host"), hostNode, "\(at).host")
        } else if let defaultHost {
            hosts = [defaultHost]
        } else {
            throw fail(entry, "\(at).host", "missing (set it here or in defaults)")
        }
        var ports = [defaults.port]
        if let portNode = mapping["port"] {
            if let text = portNode.scalar?.string, text.contains("[") {
                ports = try expand(text, portNode, "\(at).port").map { value throws(ControllerError) in
                    guard let port = Int(value), (1...65535).contains(port) else {
                        throw fail(portNode, "\(at).port", "'\(value)' is not a port number 1-65535")
                    }
                    return port
                }
            } else {
                ports = [try port(portNode, "\(at).port")]
            }
        }
        for (field, count) in [("host", hosts.count), ("port", ports.count)] where count != 1 && count != names.count {
            throw fail(mapping[field], "\(at).\(field)", "range gives \(count) values but the name range gives \(names.count)")
        }
        var template = defaults
        if let node = mapping["user"] { template.user = try string(node, "\(at).user") }
        if let node = mapping["identity"] { template.identity = expandTilde(try string(node, "\(at).identity"), home: home) }
        if let node = mapping["labels"] { template.labels = try labels(node, "\(at).labels") }
        if let node = mapping["agent_port"] { template.agentPort = try port(node, "\(at).agent_port") }
        if let node = mapping["token_file"] { template.tokenFile = expandTilde(try string(node, "\(at).token_file"), home: home) }
        if let node = mapping["runpod_id"] { template.runpodID = try string(node, "\(at).runpod_id") }
        var agentURL = defaultAgentURL
        if let node = mapping["agent_url"] {
            agentURL = AgentURLTemplate(text: try string(node, "\(at).agent_url"), node: node, field: "\(at).agent_url", fromDefaults: false)
        }
        var pods: [Pod] = []
        for (offset, name) in names.enumerated() {
            var pod = template
            pod.name = name
            pod.host = hosts.count == 1 ? hosts[0] : hosts[offset]
            pod.port = ports.count == 1 ? ports[0] : ports[offset]
            pod.hostKeyAlias = SSHConfigWriter.alias(name)
            if let agentURL { pod.agentURL = try expand(agentURL, for: pod) }
            pods.append(pod)
        }
        return pods
    }

    /// An `agent_url` as written, with `{name}`, `{pod_id}` (runpod_id) and `{agent_port}` still in it.
    struct AgentURLTemplate {
        var text: String
        var node: Node
        var field: String
        var fromDefaults: Bool
    }

    /// Fills the placeholders in; a default naming `{pod_id}` skips pods without a runpod_id (a fleet can
    /// mix RunPod pods with others), a pod's own `agent_url` must not.
    private func expand(_ template: AgentURLTemplate, for pod: Pod) throws(ControllerError) -> String? {
        var url = template.text
        if url.contains("{pod_id}") {
            guard let id = pod.runpodID else {
                if template.fromDefaults { return nil }
                throw fail(template.node, template.field, "{pod_id} needs the pod's runpod_id")
            }
            url = url.replacingOccurrences(of: "{pod_id}", with: id)
        }
        url = url.replacingOccurrences(of: "{name}", with: pod.name)
            .replacingOccurrences(of: "{agent_port}", with: String(pod.agentPort))
        if let open = url.firstIndex(of: "{"), let close = url[open...].firstIndex(of: "}") {
            throw fail(template.node, template.field, "unknown placeholder \(url[open...close]) (known: {name}, {pod_id}, {agent_port})")
        }
        guard let parsed = URLComponents(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
              let host = parsed.host, !host.isEmpty else {
            throw fail(template.node, template.field, "'\(url)' is not an http:// or https:// URL with a host")
        }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    private func expand(_ pattern: String, _ node: Node, _ field: String) throws(ControllerError) -> [String] {
        do {
            return try HostRange.expand(pattern)
        } catch {
            throw fail(node, field, error.message)
        }
    }

    private func string(_ node: Node, _ field: String) throws(ControllerError) -> String {
        guard let scalar = node.scalar, !scalar.string.isEmpty else { throw fail(node, field, "expected a non-empty string") }
        return scalar.string
    }

    private func port(_ node: Node, _ field: String) throws(ControllerError) -> Int {
        guard let text = node.scalar?.string, let value = Int(text), (1...65535).contains(value) else {
            throw fail(node, field, "expected a port number 1-65535, got '\(node.scalar?.string ?? "a non-scalar")'")
        }
        return value
    }

    private func labels(_ node: Node, _ field: String) throws(ControllerError) -> [String] {
        if let scalar = node.scalar { return [scalar.string] }
        guard let sequence = node.sequence else { throw fail(node, field, "expected a list of labels") }
        var result: [String] = []
        for item in sequence { result.append(try string(item, field)) }
        return result
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return ":\(mark.line): not valid YAML (column \(mark.column)): \(problem)"
        default:
            return ": not valid YAML: \(error)"
        }
    }
}
