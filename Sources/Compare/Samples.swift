#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodAgentExtras
import Plugins

/// One sample description (docs/inputs.md) to send to every model.
public struct Sample: Sendable, Equatable {
    /// `sample_id` from the description, else derived from the file name.
    public var id: String
    /// The JSON object sent as `inputs`.
    public var inputs: Data
    /// Where it came from, for messages.
    public var source: String

    public init(id: String, inputs: Data, source: String) {
        self.id = id
        self.inputs = inputs
        self.source = source
    }
}

/// Reads `--inputs DIR|FILE` and builds `podctl infer` inputs.
public enum SampleLoader {
    /// A FILE holds one sample (a JSON object) or a list of them; a DIR holds `*.json` files, read in name order.
    public static func load(_ path: String) throws(CompareError) -> [Sample] {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CompareError(.usage, "--inputs: \(path) does not exist")
        }
        var samples: [Sample] = []
        if isDirectory {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw CompareError(.usage, "--inputs: cannot list \(path): \(errorText(error))")
            }
            for name in names.filter({ $0.hasSuffix(".json") }).sorted() {
                samples += try loadFile("\(path)/\(name)")
            }
            if samples.isEmpty { throw CompareError(.usage, "--inputs: \(path) holds no *.json sample files") }
        } else {
            samples = try loadFile(path)
            if samples.isEmpty { throw CompareError(.usage, "--inputs: \(path) is an empty list") }
        }
        var seen: [String: String] = [:]
        for sample in samples {
            if let other = seen[sample.id] {
                throw CompareError(.usage, "--inputs: sample id '\(sample.id)' appears twice (\(other) and \(sample.source))")
            }
            seen[sample.id] = sample.source
        }
        return samples
    }

    static func loadFile(_ path: String) throws(CompareError) -> [Sample] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CompareError(.usage, "\(path): cannot read")
        }
        let parsed: JSONValue
        do { parsed = try JSONReader.parse([UInt8](data), source: path) } catch {
            throw CompareError(.usage, "\(path): not valid JSON: \(error.message)")
        }
        let stem = PathNames.deletingExtension(PathNames.lastComponent(path))
        if case .object = parsed { return [try sample(parsed, fallbackID: stem, source: path)] }
        guard case .array(let list) = parsed else {
            throw CompareError(.usage, "\(path): expected a sample description (a JSON object) or a list of them")
        }
        var samples: [Sample] = []
        for (index, item) in list.enumerated() {
            samples.append(try sample(item, fallbackID: "\(stem)-\(index)", source: "\(path)[\(index)]"))
        }
        return samples
    }

    static func sample(_ value: JSONValue, fallbackID: String, source: String) throws(CompareError) -> Sample {
        guard case .object = value else {
            throw CompareError(.usage, "\(source): a sample must be a JSON object (the sample description)")
        }
        let id = value["sample_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? fallbackID
        return Sample(id: id, inputs: try sortedJSON(value, source: source), source: source)
    }

    /// `podctl infer` inputs: an optional JSON file, then `KEY=/path/on/pod` entries, then `KEY=local file`
    /// uploads (`{"base64": ..., "filename": ...}` per the API contract). Later entries replace earlier keys.
    public static func build(file: String?, podPaths: [String], uploads: [String]) throws(CompareError) -> Sample {
        var object: [String: JSONValue] = [:]
        var id = "sample"
        if let file {
            let loaded = try loadFile(file)
            guard loaded.count == 1, let first = loaded.first,
                  case .object(let members)? = try? JSONReader.parse([UInt8](first.inputs), source: file) else {
                throw CompareError(.usage, "\(file): infer takes one sample description (a JSON object), not a list")
            }
            object = Dictionary(members, uniquingKeysWith: { _, last in last })
            id = first.id
        }
        for entry in podPaths {
            let (key, value) = try pair(entry, flag: "--path")
            object[key] = .string(value)
        }
        for entry in uploads {
            let (key, local) = try pair(entry, flag: "--upload")
            guard let bytes = FileManager.default.contents(atPath: local) else {
                throw CompareError(.usage, "--upload \(key)=\(local): cannot read the local file")
            }
            object[key] = .object([("base64", .string(bytes.base64EncodedString())), ("filename", .string(PathNames.lastComponent(local)))])
        }
        guard !object.isEmpty else {
            throw CompareError(.usage, "no input: give a sample JSON file, --path KEY=/path/on/pod or --upload KEY=FILE")
        }
        if let given = object["sample_id"]?.stringValue { id = given }
        let inputs = try sortedJSON(.object(object.map { ($0.key, $0.value) }), source: file ?? "command line")
        return Sample(id: id, inputs: inputs, source: file ?? "command line")
    }

    /// The value as compact JSON with every object's keys sorted (a sample's bytes do not depend on key order).
    static func sortedJSON(_ value: JSONValue, source: String) throws(CompareError) -> Data {
        func sorted(_ value: JSONValue) -> JSONValue {
            switch value {
            case .object(let members): .object(members.map { ($0.0, sorted($0.1)) }.sorted { $0.0 < $1.0 })
            case .array(let items): .array(items.map(sorted))
            default: value
            }
        }
        do {
            return Data(try JSONWriter.write(sorted(value)))
        } catch {
            throw CompareError(.usage, "\(source): cannot be written back as JSON: \(error.message)")
        }
    }

    static func pair(_ entry: String, flag: String) throws(CompareError) -> (String, String) {
        guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex, entry.index(after: equals) != entry.endIndex else {
            throw CompareError(.usage, "\(flag) '\(entry)': expected KEY=VALUE")
        }
        return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
    }
}
