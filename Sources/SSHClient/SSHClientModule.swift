import CLibSSH

/// The libssh wrapper: the only module that sees libssh's C types.
public enum SSHClientModule {
    /// The linked libssh's version string.
    public static var libsshVersion: String { String(cString: ssh_version(0)) }
}
