import CCurl

/// The libcurl wrapper: the only module that sees libcurl's C types.
public enum CurlClientModule {
    /// The linked libcurl's version string.
    public static var curlVersion: String { String(cString: curl_version()) }
}
