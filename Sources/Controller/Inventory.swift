import Foundation

/// A fleet file, loaded: pods in file order, names unique.
public struct Inventory: Sendable {
    public var pods: [Pod]
    /// The file it came from (nil when there was none).
    public var path: String?

    public init(pods: [Pod], path: String? = nil) {
        self.pods = pods
        self.path = path
    }

    /// Where `-i` is looked for when not given: `./fleet.yaml`, then `~/.config/podctl/fleet.yaml`.
    public static func defaultPath(home: String, currentDirectory: String) -> String? {
        let candidates = ["\(currentDirectory)/fleet.yaml", "\(home)/.config/podctl/fleet.yaml"]
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Loads `path`; every problem names the file, the line and the field.
    public static func load(path: String, home: String) throws(ControllerError) -> Inventory {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ControllerError(.inventory, "\(path): cannot read the inventory file")
        }
        let text = String(decoding: data, as: UTF8.self)
        return Inventory(pods: try InventoryParser(file: path, home: home).parse(text), path: path)
    }
}

/// Expands `~/` with the given home directory.
func expandTilde(_ path: String, home: String) -> String {
    if path == "~" { return home }
    if path.hasPrefix("~/") { return home + path.dropFirst(1) }
    return path
}
