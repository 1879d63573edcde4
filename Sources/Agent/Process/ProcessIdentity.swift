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

/// The user a child process runs as: uid, primary gid and supplementary groups, taken in the child
/// before exec (``Supervisor/spawn(_:)``, `pa_spawn_as`), plus the account's name and home for the
/// child's environment.
public struct ProcessIdentity: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t
    /// Supplementary groups (the account's groups from the group database, its primary one included).
    public var groups: [gid_t]
    public var home: String

    public init(name: String, uid: uid_t, gid: gid_t, groups: [gid_t], home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
    }

    public var description: String { "\(name) (uid \(uid), gid \(gid))" }

    /// The account named `user` (a name, or a numeric uid) from the password and group databases; nil when it does not exist.
    public static func lookup(_ user: String) -> ProcessIdentity? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status: Int32
        if let uid = UInt32(user) {
            status = getpwuid_r(uid_t(uid), &entry, &buffer, buffer.count, &result)
        } else {
            status = getpwnam_r(user, &entry, &buffer, buffer.count, &result)
        }
        guard status == 0, let found = result else { return nil }
        let name = String(cString: found.pointee.pw_name)
        let gid = found.pointee.pw_gid
        return ProcessIdentity(
            name: name, uid: found.pointee.pw_uid, gid: gid, groups: groupList(name, gid),
            home: String(cString: found.pointee.pw_dir))
    }

    /// The account's groups (getgrouplist), growing the buffer when the account is in many.
    static func groupList(_ name: String, _ gid: gid_t) -> [gid_t] {
        var count: Int32 = 32
        while count < 65536 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var found = count
            let rc = getgrouplist(name, gid, &groups, &found)
            if rc >= 0 { return Array(groups.prefix(Int(found))) }
            count = max(found, count * 2)
        }
        return [gid]
    }

    /// The environment a process of this identity expects from a login: HOME, USER and LOGNAME.
    public func apply(to environment: inout [String: String]) {
        environment["HOME"] = home
        environment["USER"] = name
        environment["LOGNAME"] = name
    }
}
