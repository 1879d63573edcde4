/// What the builder stage of every model image compiles podagent with: the Swift toolchain image and
/// Swift's static Linux SDK (musl), pinned together because the SDK only works with the toolchain of
/// exactly the same version.
///
/// The models' bases are Ubuntu 18.04 (glibc 2.27); a podagent linked against the builder's newer
/// glibc would not start there, so the image carries a fully static musl binary instead.
public struct ImageToolchain: Sendable, Equatable {
    /// The Swift release, e.g. `6.3.1`; names the builder image and the SDK bundle.
    public var swiftVersion: String
    /// The static SDK bundle's own version in its file name (`..._static-linux-0.1.0.artifactbundle.tar.gz`).
    public var staticSDKBundleVersion: String
    /// SHA-256 of the SDK bundle, as swift.org publishes it next to the download; `swift sdk install --checksum` checks it.
    public var staticSDKChecksum: String
    /// The Swift SDK id the bundle installs for x86_64.
    public var swiftSDK: String

    public init(swiftVersion: String, staticSDKBundleVersion: String, staticSDKChecksum: String, swiftSDK: String) {
        self.swiftVersion = swiftVersion
        self.staticSDKBundleVersion = staticSDKBundleVersion
        self.staticSDKChecksum = staticSDKChecksum
        self.swiftSDK = swiftSDK
    }

    /// The pins the checked-in recipes use: Swift 6.3.1 (the toolchain this project builds with) and its SDK.
    public static let pinned = ImageToolchain(
        swiftVersion: "6.3.1",
        staticSDKBundleVersion: "0.1.0",
        staticSDKChecksum: "fac05271c1f7d060bd203240ce5251d5ca902d30ac899f553765dbb3a88b97ad",
        swiftSDK: "x86_64-swift-linux-musl")
}
