import CLibSSH

/// The linked libssh's version string.
public enum SSHLibrary {
    public static var version: String { String(cString: ssh_version(0)) }
}
