import Foundation
import Testing
@testable import Plugins

/// Fixtures (built by Fixtures/make_fixtures.py from the spec) and the repository's real manifests.
enum Fixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"), "missing fixture \(name)")
        return Array(try Data(contentsOf: url))
    }

    static func json(_ name: String) throws -> JSONValue {
        try JSONReader.parse(bytes(name), source: name)
    }

    /// The repository root, from this file's path.
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static var pluginsDirectory: String { repositoryRoot + "/Plugins" }

    static func manifest(_ model: String) throws -> PluginManifest {
        try ManifestLoader.load(path: "\(pluginsDirectory)/\(model)/plugin.yaml")
    }

    static func plugin(_ model: String) throws -> any ModelPlugin {
        try PluginRegistry.standard.plugin(for: manifest(model))
    }

    static func calibration() throws -> [String: SampleCalibration] {
        try SampleCalibration.readSet(json("calibration.json"))
    }
}

/// Structural equality with a numeric tolerance; objects compare by key, not order.
func approximatelyEqual(_ a: JSONValue, _ b: JSONValue, tolerance: Double = 1e-9, path: String = "$") -> String? {
    switch (a, b) {
    case let (.number(x), .number(y)):
        let scale = max(1, abs(x), abs(y))
        return abs(x - y) <= tolerance * scale ? nil : "\(path): \(x) != \(y)"
    case let (.array(xs), .array(ys)):
        guard xs.count == ys.count else { return "\(path): \(xs.count) items != \(ys.count)" }
        for (index, (x, y)) in zip(xs, ys).enumerated() {
            if let problem = approximatelyEqual(x, y, tolerance: tolerance, path: "\(path)[\(index)]") { return problem }
        }
        return nil
    case let (.object(xs), .object(ys)):
        let left = Dictionary(xs, uniquingKeysWith: { first, _ in first })
        let right = Dictionary(ys, uniquingKeysWith: { first, _ in first })
        guard Set(left.keys) == Set(right.keys) else { return "\(path): keys \(left.keys.sorted()) != \(right.keys.sorted())" }
        for key in left.keys.sorted() {
            if let problem = approximatelyEqual(left[key] ?? .null, right[key] ?? .null, tolerance: tolerance, path: "\(path).\(key)") { return problem }
        }
        return nil
    default:
        return a == b ? nil : "\(path): \(a) != \(b)"
    }
}
