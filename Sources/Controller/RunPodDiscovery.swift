import CurlClient
import Foundation
import PodAgentExtras
import Yams

/// One pod from RunPod's REST API (`GET /v1/pods`), with only the fields podctl uses.
public struct RunPodPod: Sendable, Decodable, Equatable {
    public var id: String
    public var name: String?
    public var desiredStatus: String?
    public var publicIp: String?
    public var portMappings: [String: Int]?
    /// Exposed ports as `"8080/http"`, `"22/tcp"`.
    public var ports: [String]?
}

/// A discovered pod: reachable over SSH (host and port) or not (with the reason).
public struct DiscoveredPod: Sendable, Equatable {
    public var id: String
    public var name: String
    public var status: String
    public var host: String?
    public var port: Int?
    public var unreachableReason: String?
    /// Ports exposed through RunPod's HTTPS proxy (`"8080/http"`); nil when the API did not say.
    public var httpPorts: [Int]?

    public init(id: String, name: String, status: String, host: String? = nil, port: Int? = nil, unreachableReason: String? = nil,
                httpPorts: [Int]? = nil) {
        self.id = id
        self.name = name
        self.status = status
        self.host = host
        self.port = port
        self.unreachableReason = unreachableReason
        self.httpPorts = httpPorts
    }

    /// RunPod's proxy URL for `port` inside the pod: `https://{pod_id}-{port}.proxy.runpod.net`.
    public func proxyURL(port: Int) -> String { "https://\(id)-\(port).proxy.runpod.net" }
}

/// What ``RunPodDiscovery/update(fleetFile:with:)`` changed.
public struct FleetUpdate: Sendable, Equatable {
    public var added = 0
    public var updated = 0
    /// Why a pod got no `agent_url` (its agent port is not exposed as HTTP).
    public var notes: [String] = []
}

/// `podctl discover runpod`: list the account's pods and write them into the fleet file.
public enum RunPodDiscovery {
    public static let defaultBaseURL = "https://rest.runpod.io/v1"

    /// Fetches the pods; the key goes only into the Authorization header, never into messages.
    public static func fetch(baseURL: String, apiKey: String, timeout: Int = 30) throws(ControllerError) -> [RunPodPod] {
        let url = baseURL.hasSuffix("/") ? "\(baseURL)pods" : "\(baseURL)/pods"
        let response: HTTPResponse
        do {
            response = try HTTPClient(timeoutSeconds: timeout).get(url, headers: ["Authorization: Bearer \(apiKey)", "Accept: application/json"])
        } catch {
            throw ControllerError(.discovery, "RunPod API: \(error.message)")
        }
        guard response.status == 200 else {
            let hint = response.status == 401 || response.status == 403 ? " (check RUNPOD_API_KEY)" : ""
            let body = String(decoding: response.body.prefix(300), as: UTF8.self)
            throw ControllerError(.discovery, "RunPod API: GET \(url) returned HTTP \(response.status)\(hint): \(body)")
        }
        do {
            return try JSONDecoder().decode([RunPodPod].self, from: response.body)
        } catch {
            throw ControllerError(.discovery, "RunPod API: GET \(url) returned JSON podctl cannot read: \(error)")
        }
    }

    public static func classify(_ pods: [RunPodPod]) -> [DiscoveredPod] {
        pods.map { pod in
            let status = pod.desiredStatus ?? "UNKNOWN"
            var found = DiscoveredPod(id: pod.id, name: SSHConfigWriter.alias(pod.name ?? pod.id), status: status,
                                      httpPorts: pod.ports.map { ports in ports.compactMap { $0.hasSuffix("/http") ? Int($0.dropLast(5)) : nil } })
            let ip = pod.publicIp ?? ""
            let port = pod.portMappings?["22"]
            if status != "RUNNING" {
                found.unreachableReason = "pod is \(status)"
            } else if ip.isEmpty {
                found.unreachableReason = "no public IP yet (pod still starting)"
            } else if port == nil {
                found.unreachableReason = "no public TCP port mapped to 22 (expose 22/tcp in the pod's ports)"
            } else {
                found.host = ip
                found.port = port
            }
            return found
        }
    }

    /// Adds or updates reachable pods in the fleet file (matched by runpod_id, then name), keeping
    /// other entries; written atomically. YAML comments in the file are not preserved.
    /// Each pod's `agent_url` becomes the proxy URL of its agent port (`agent_port`, default 8080) when the
    /// pod exposes that port as HTTP (or the API does not list ports); otherwise the entry's own is kept.
    public static func update(fleetFile: String, with discovered: [DiscoveredPod]) throws(ControllerError) -> FleetUpdate {
        var document: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: fleetFile) {
            let text = String(decoding: data, as: UTF8.self)
            do {
                _ = try InventoryParser(file: fleetFile, home: "~").parse(text)
                document = (try Yams.load(yaml: text) as? [String: Any]) ?? [:]
            } catch let error as ControllerError {
                throw error
            } catch {
                throw ControllerError(.inventory, "\(fleetFile): \(error)")
            }
        }
        var pods = document["pods"] as? [[String: Any]] ?? []
        let defaultAgentPort = ((document["defaults"] as? [String: Any])?["agent_port"] as? Int) ?? 8080
        var result = FleetUpdate()
        for pod in discovered {
            guard let host = pod.host, let port = pod.port else { continue }
            let index: Int
            if let found = pods.firstIndex(where: { ($0["runpod_id"] as? String) == pod.id })
                ?? pods.firstIndex(where: { ($0["name"] as? String) == pod.name }) {
                index = found
                pods[index]["host"] = host
                pods[index]["port"] = port
                pods[index]["runpod_id"] = pod.id
                result.updated += 1
            } else {
                pods.append(["name": pod.name, "host": host, "port": port, "runpod_id": pod.id, "labels": ["runpod"]])
                index = pods.count - 1
                result.added += 1
            }
            let agentPort = pods[index]["agent_port"] as? Int ?? defaultAgentPort
            if pod.httpPorts?.contains(agentPort) ?? true {
                pods[index]["agent_url"] = pod.proxyURL(port: agentPort)
            } else {
                result.notes.append("\(pod.name): agent_url not set from RunPod's proxy: port \(agentPort) is not exposed as HTTP (add \(agentPort)/http to the pod's ports to trust its host keys through the proxy)")
            }
        }
        document["pods"] = pods
        let text: String
        do {
            text = try Yams.dump(object: document, sortKeys: true)
        } catch {
            throw ControllerError(.io, "cannot render \(fleetFile): \(error)")
        }
        let directory = (fleetFile as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try ControllerError.writing(AtomicFile.write(text, to: fleetFile, mode: 0o644))
        return result
    }
}
