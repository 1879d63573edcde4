import CurlClient
import Foundation
import Yams

/// One pod from RunPod's REST API (`GET /v1/pods`), with only the fields podctl uses.
public struct RunPodPod: Sendable, Decodable, Equatable {
    public var id: String
    public var name: String?
    public var desiredStatus: String?
    public var publicIp: String?
    public var portMappings: [String: Int]?
}

/// A discovered pod: reachable over SSH (host and port) or not (with the reason).
public struct DiscoveredPod: Sendable, Equatable {
    public var id: String
    public var name: String
    public var status: String
    public var host: String?
    public var port: Int?
    public var unreachableReason: String?

    public init(id: String, name: String, status: String, host: String? = nil, port: Int? = nil, unreachableReason: String? = nil) {
        self.id = id
        self.name = name
        self.status = status
        self.host = host
        self.port = port
        self.unreachableReason = unreachableReason
    }
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
            var found = DiscoveredPod(id: pod.id, name: SSHConfigWriter.alias(pod.name ?? pod.id), status: status)
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
    public static func update(fleetFile: String, with discovered: [DiscoveredPod]) throws(ControllerError) -> (added: Int, updated: Int) {
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
        var added = 0
        var updated = 0
        for pod in discovered {
            guard let host = pod.host, let port = pod.port else { continue }
            if let index = pods.firstIndex(where: { ($0["runpod_id"] as? String) == pod.id })
                ?? pods.firstIndex(where: { ($0["name"] as? String) == pod.name }) {
                pods[index]["host"] = host
                pods[index]["port"] = port
                pods[index]["runpod_id"] = pod.id
                updated += 1
            } else {
                pods.append(["name": pod.name, "host": host, "port": port, "runpod_id": pod.id, "labels": ["runpod"]])
                added += 1
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
        try AtomicFile.write(text, to: fleetFile, mode: 0o644)
        return (added, updated)
    }
}
