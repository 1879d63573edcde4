/// An agent's base URL taken apart: `http[s]://host[:port][/prefix]` (no query, no user info).
public struct AgentURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    /// The host as given; an IPv6 address without its brackets.
    public var host: String
    public var port: Int
    /// A path every request goes below (`/agent` behind a proxy); empty for none, never ending in `/`.
    public var prefix: String

    /// A URL from its parts (`prefix` empty or starting with `/`).
    public init(scheme: String, host: String, port: Int, prefix: String = "") {
        (self.scheme, self.host, self.port, self.prefix) = (scheme, host, port, prefix)
    }

    /// Reads `text`; a trailing `/` is dropped.
    /// - Throws: ``AgentAPIError`` `.usage` naming what is wrong.
    public init(_ text: String) throws(AgentAPIError) {
        func bad(_ why: String) -> AgentAPIError {
            AgentAPIError(.usage, "'\(text)' is not an agent URL (http://host[:port] or https://host[:port]): \(why)")
        }
        guard let schemeEnd = text.firstRange(of: "://") else { throw bad("no scheme") }
        scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw bad("the scheme must be http or https") }
        var rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        guard !rest.contains("?"), !rest.contains("#") else { throw bad("a base URL has no query or fragment") }
        guard !authority.contains("@") else { throw bad("put the token in a token file, not in the URL") }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw bad("an unclosed [") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("junk after ]") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw bad("no host") }
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else { throw bad("the port must be 1 to 65535") }
            port = number
        } else {
            port = scheme == "https" ? 443 : 80
        }
        var path = String(rest)
        while path.hasSuffix("/") { path.removeLast() }
        prefix = path
    }

    /// `scheme://host:port/prefix`, brackets around an IPv6 host.
    public var description: String {
        "\(scheme)://\(hostForURL):\(port)\(prefix)"
    }

    /// The host as it goes into a URL or a `Host` header.
    public var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    /// Whether the host is this machine's loopback (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        let lowered = host.lowercased()
        return lowered == "localhost" || lowered == "::1" || lowered.hasPrefix("127.")
    }
}
