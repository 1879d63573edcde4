import CLibSSH
import Foundation

/// One connected, authenticated libssh session.
///
/// Not Sendable on purpose: libssh requires a session and its channels to stay on one thread.
/// Fan-out gives each pod its own session on its own worker thread.
public final class SSHSession {
    let raw: OpaquePointer
    public let endpoint: SSHEndpoint
    public let options: SSHConnectOptions
    /// The server key's SHA256 fingerprint as OpenSSH prints it.
    public private(set) var hostKeyFingerprint = ""
    /// Set when accept-new recorded a key this time.
    public private(set) var recordedNewHostKey = false

    /// Connects, checks the host key by `options.hostKeyPolicy`, and authenticates.
    public init(endpoint: SSHEndpoint, options: SSHConnectOptions) throws(SSHError) {
        guard let session = ssh_new() else { throw SSHError(.connect, "libssh could not allocate a session") }
        raw = session
        self.endpoint = endpoint
        self.options = options
        // Once every stored property is set, a throw runs deinit, which frees the session.
        try configure()
        try connect()
        try verifyHostKey()
        try authenticate()
    }

    deinit {
        ssh_disconnect(raw)
        ssh_free(raw)
    }

    private var target: String { "\(endpoint.user)@\(endpoint.host):\(endpoint.port)" }

    private func set(_ option: ssh_options_e, string value: String) throws(SSHError) {
        let rc = value.withCString { ssh_options_set(raw, option, $0) }
        if rc != SSH_OK { throw SSHError(.connect, "libssh rejected option \(option.rawValue) = \(value): \(lastError)") }
    }

    private func set<T>(_ option: ssh_options_e, value: T) throws(SSHError) {
        var copy = value
        let rc = withUnsafePointer(to: &copy) { ssh_options_set(raw, option, UnsafeRawPointer($0)) }
        if rc != SSH_OK { throw SSHError(.connect, "libssh rejected option \(option.rawValue): \(lastError)") }
    }

    var lastError: String { String(cString: ssh_get_error(UnsafeMutableRawPointer(raw))) }

    /// False once libssh has seen the connection fail or close.
    public var isAlive: Bool {
        ssh_is_connected(raw) != 0 && ssh_get_status(raw) & (SSH_CLOSED | SSH_CLOSED_ERROR) == 0
    }

    /// Checks the server's key against the known hosts file again (it may have changed since the session
    /// was made), by the same policy as at connect time.
    public func recheckHostKey() throws(SSHError) {
        try verifyHostKey()
    }

    private func configure() throws(SSHError) {
        try set(SSH_OPTIONS_HOST, string: endpoint.host)
        try set(SSH_OPTIONS_PORT, value: UInt32(endpoint.port))
        try set(SSH_OPTIONS_USER, string: endpoint.user)
        // Without a timeout libssh's blocking reads (and exit-status waits) can hang forever.
        try set(SSH_OPTIONS_TIMEOUT, value: max(1, options.connectTimeout))
        // The inventory is the source of truth: libssh must not apply ~/.ssh/config on top of it
        // (it understands only part of it, and would silently change ports, users and keys).
        try set(SSH_OPTIONS_PROCESS_CONFIG, value: false)
        try set(SSH_OPTIONS_KNOWNHOSTS, string: options.knownHostsFile)
        // An empty global file keeps /etc/ssh/ssh_known_hosts from overriding the chosen file.
        try set(SSH_OPTIONS_GLOBAL_KNOWNHOSTS, string: "/dev/null")
        try set(SSH_OPTIONS_NODELAY, value: Int32(1))
        try preferPinnedHostKeyTypes()
    }

    /// libssh orders host key algorithms by what known_hosts pins for `[host]:port`; with an alias the
    /// pins are under the alias, so the same is done here for it: its types first, then libssh's defaults.
    private func preferPinnedHostKeyTypes() throws(SSHError) {
        guard endpoint.hostKeyAlias != nil, options.hostKeyPolicy != .off else { return }
        let file = KnownHostsFile(path: options.knownHostsFile)
        var pinned: [SSHPublicKey] = []
        for name in endpoint.knownHostsNames where pinned.isEmpty {
            pinned = (try? file.keys(for: name)) ?? []
        }
        guard !pinned.isEmpty else { return }
        let defaults = ["ssh-ed25519", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"]
        // An RSA key signs with SHA-2 (ssh-rsa itself is SHA-1, off in libssh's defaults).
        let algorithms = Set(pinned.flatMap { $0.type == "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256"] : [$0.type] })
        // Pinned ones first, in libssh's order of preference, then the rest.
        let ordered = defaults.filter { algorithms.contains($0) } + algorithms.subtracting(defaults).sorted()
            + defaults.filter { !algorithms.contains($0) }
        try set(SSH_OPTIONS_HOSTKEYS, string: ordered.joined(separator: ","))
    }

    private func connect() throws(SSHError) {
        let rc = ssh_connect(raw)
        if rc != SSH_OK {
            let message = lastError
            let kind: SSHError.Kind = message.localizedCaseInsensitiveContains("timeout") ? .timeout : .connect
            throw SSHError(kind, "cannot connect to \(target): \(message)")
        }
    }

    private func verifyHostKey() throws(SSHError) {
        var key: ssh_key?
        guard ssh_get_server_publickey(raw, &key) == SSH_OK, let key else {
            throw SSHError(.connect, "\(target) sent no host key: \(lastError)")
        }
        defer { ssh_key_free(key) }
        hostKeyFingerprint = Self.fingerprint(of: key)
        if options.hostKeyPolicy == .off { return }
        let offered = try SSHPublicKey(key)

        // Looked up by the alias first (podctl's pods, as `HostKeyAlias` in the written ssh config),
        // then by [host]:port, where earlier pins and plain ssh put them.
        let names = endpoint.knownHostsNames
        let file = KnownHostsFile(path: options.knownHostsFile)
        let fileName = options.knownHostsFile
        switch try file.verify(offered, names: names) {
        case .known(let name):
            // A pin found only under [host]:port is carried over to the alias when recording is allowed.
            if name != names[0], options.hostKeyPolicy == .acceptNew { try record(offered, names: [names[0]]) }
        case .changed(let name, _), .otherTypes(let name, _):
            throw SSHError(.hostKeyChanged, """
                HOST KEY CHANGED for \(name): the server now offers \(offered.type) \(hostKeyFingerprint), \
                which does not match \(fileName). This can be a pod that was recreated (new container disk) \
                or someone intercepting the connection. Verify the fingerprint out of band (e.g. the pod's \
                startup log), then remove the old entry: ssh-keygen -R '\(name)' -f \(fileName)
                """, fingerprint: hostKeyFingerprint)
        case .unknown:
            if options.hostKeyPolicy == .strict {
                throw SSHError(.hostKeyUnknown, """
                    unknown host key for \(names[0]): \(offered.type) \(hostKeyFingerprint) is not in \(fileName). \
                    Pin the pod's keys from its agent with `podctl trust`, or check the fingerprint and connect once \
                    with --host-keys accept-new to record it
                    """, fingerprint: hostKeyFingerprint)
            }
            try record(offered, names: names)
        }
    }

    private func record(_ key: SSHPublicKey, names: [String]) throws(SSHError) {
        let result: KnownHostsFile.PinResult
        do {
            result = try KnownHostsFile(path: options.knownHostsFile).pin([key], names: names)
        } catch {
            throw SSHError(.knownHosts, "cannot record the host key of \(target): \(error.message)", fingerprint: hostKeyFingerprint)
        }
        switch result {
        case .pinned(let added, _):
            recordedNewHostKey = !added.isEmpty
        case .refused(let conflicts):
            // Another podctl pinned a different key for this name between our check and our write.
            let name = conflicts.first?.name ?? names[0]
            throw SSHError(.hostKeyChanged, "HOST KEY CHANGED for \(name) while connecting: \(options.knownHostsFile) now pins another key",
                           fingerprint: hostKeyFingerprint)
        }
    }

    static func fingerprint(of key: ssh_key) -> String {
        var hash: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == 0, let hash else { return "?" }
        defer {
            var pointer: UnsafeMutablePointer<UInt8>? = hash
            ssh_clean_pubkey_hash(&pointer)
        }
        guard let text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length) else { return "?" }
        defer { ssh_string_free_char(text) }
        return String(cString: text)
    }

    private func authenticate() throws(SSHError) {
        if ssh_userauth_none(raw, nil) == SSH_AUTH_SUCCESS.rawValue { return }
        var tried: [String] = []
        for path in endpoint.identityFiles {
            var key: ssh_key?
            guard ssh_pki_import_privkey_file(path, nil, nil, nil, &key) == SSH_OK, let key else {
                tried.append("\(path) (unreadable or encrypted)")
                continue
            }
            let rc = ssh_userauth_publickey(raw, nil, key)
            ssh_key_free(key)
            if rc == SSH_AUTH_SUCCESS.rawValue { return }
            if rc == SSH_AUTH_ERROR.rawValue {
                throw SSHError(.auth, "authentication with \(path) to \(target) failed: \(lastError)")
            }
            tried.append(path)
        }
        if options.useAgent, let socket = options.agentSocket ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"],
           !socket.isEmpty {
            try set(SSH_OPTIONS_IDENTITY_AGENT, string: socket)
            let rc = ssh_userauth_agent(raw, nil)
            if rc == SSH_AUTH_SUCCESS.rawValue { return }
            if rc == SSH_AUTH_ERROR.rawValue {
                throw SSHError(.auth, "authentication through the ssh-agent at \(socket) to \(target) failed: \(lastError)")
            }
            tried.append("ssh-agent at \(socket)")
        }
        let what = tried.isEmpty ? "no identity file or ssh-agent available" : "tried \(tried.joined(separator: ", "))"
        throw SSHError(.auth, "permission denied for \(target) (publickey): \(what)")
    }
}
