import CurlClient
import SSHClient

/// podctl's logic: inventory, targets, fan-out over libssh, commands.
public enum PodctlVersion {
    public static let current = "0.1.0"
    /// The libraries podctl is linked against, for `podctl version`.
    public static var libraries: String { "libssh \(SSHClientModule.libsshVersion); \(CurlClientModule.curlVersion)" }
}
