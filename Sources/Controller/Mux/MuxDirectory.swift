import Foundation

/// Where the mux keeps its control socket, lock and log: a directory only its user can enter.
///
/// `$XDG_RUNTIME_DIR/podctl` when the runtime directory is set (systemd makes it per user, 0700, on tmpfs),
/// else `${XDG_CACHE_HOME:-~/.cache}/podctl/mux`. Created 0700; used only when it is a real directory (not a
/// symbolic link) owned by this user with no access for group or others, checked by the client and the mux.
public struct MuxDirectory: Sendable, Equatable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The directory for this user's environment (or `override`).
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment,
                               override: String? = nil) -> MuxDirectory {
        if let override { return MuxDirectory(path: override) }
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return MuxDirectory(path: "\(runtime)/podctl")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "\(home)/.cache"
        return MuxDirectory(path: "\(cache)/podctl/mux")
    }

    public var socket: String { "\(path)/mux.sock" }
    var lock: String { "\(path)/mux.lock" }
    public var log: String { "\(path)/mux.log" }

    /// Creates the directory when missing (parents 0700 too), then checks it; throws naming what is wrong.
    public func prepare() throws(ControllerError) {
        var info = stat()
        if lstat(path, &info) != 0 {
            guard errno == ENOENT else { throw ControllerError(.mux, "cannot inspect \(path): \(String(cString: strerror(errno)))") }
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw ControllerError(.mux, "cannot create \(path): \(error.localizedDescription)")
            }
        }
        try check()
    }

    /// The directory must be ours and closed to everyone else, or the socket in it could be someone else's.
    func check() throws(ControllerError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw ControllerError(.mux, "cannot inspect \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw ControllerError(.mux, "refusing \(path) for the mux: it is not a directory (or is a symbolic link)")
        }
        guard info.st_uid == getuid() else {
            throw ControllerError(.mux, "refusing \(path) for the mux: it belongs to uid \(info.st_uid), not to uid \(getuid())")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw ControllerError(.mux, "refusing \(path) for the mux: its mode is \(String(info.st_mode & 0o777, radix: 8)); it must be 700")
        }
        guard socket.utf8.count < 108 else {
            throw ControllerError(.mux, "the mux socket path \(socket) is too long for a Unix socket (108 bytes); set XDG_RUNTIME_DIR")
        }
    }
}
