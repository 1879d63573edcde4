import CurlClient
import SSHClient

/// podctl's version and the libraries it is linked against.
public enum PodctlVersion {
    public static let current = "0.1.0"
    /// The libraries podctl is linked against, for `podctl version`.
    public static var libraries: String { "libssh \(SSHLibrary.version); \(HTTPClient.libraryVersion)" }
}
