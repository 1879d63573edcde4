import Foundation

/// The concrete `Host` entries of an OpenSSH client config, so `-w NAME` works for hosts people
/// already have in `~/.ssh/config`. Patterns (`*`, `?`, `!`), `Match` blocks and `Include`s are
/// not followed: podctl only borrows plainly named hosts.
public struct SSHConfigHosts: Sendable {
    public struct Entry: Sendable, Equatable {
        public var hostName: String?
        public var port: Int?
        public var user: String?
        public var identityFile: String?
        /// `HostKeyAlias`: podctl looks the host key up under it, as ssh does.
        public var hostKeyAlias: String?
    }

    public var entries: [String: Entry]

    public init(entries: [String: Entry] = [:]) {
        self.entries = entries
    }

    /// Reads `path`; a missing file is an empty config.
    public static func load(path: String, home: String) -> SSHConfigHosts {
        guard let data = FileManager.default.contents(atPath: path) else { return SSHConfigHosts() }
        return parse(String(decoding: data, as: UTF8.self), home: home)
    }

    public static func parse(_ text: String, home: String) -> SSHConfigHosts {
        var entries: [String: Entry] = [:]
        var current: [String] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" || $0 == "=" })
            guard parts.count == 2 else { continue }
            let key = parts[0].lowercased()
            let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: " \t=\""))
            switch key {
            case "host":
                current = value.split(separator: " ").map(String.init)
                    .filter { !$0.contains("*") && !$0.contains("?") && !$0.hasPrefix("!") }
                for name in current where entries[name] == nil { entries[name] = Entry() }
            case "match":
                current = []
            default:
                // First value wins, as in ssh_config(5).
                for name in current {
                    var entry = entries[name] ?? Entry()
                    switch key {
                    case "hostname": entry.hostName = entry.hostName ?? value
                    case "port": entry.port = entry.port ?? Int(value)
                    case "user": entry.user = entry.user ?? value
                    case "identityfile": entry.identityFile = entry.identityFile ?? expandTilde(value, home: home)
                    case "hostkeyalias": entry.hostKeyAlias = entry.hostKeyAlias ?? value
                    default: break
                    }
                    entries[name] = entry
                }
            }
        }
        return SSHConfigHosts(entries: entries)
    }
}
