/// The one error type of the Plugins module: a stable code and a message that names what is wrong.
///
/// Edges map it once: the agent's HTTP layer and the CLI turn ``Code`` into a status or an exit code.
public struct PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A plugin.yaml that cannot be read, is not YAML, or has a missing or wrong key.
        public static let invalidManifest = Code(rawValue: "invalid_manifest")
        /// A manifest names a parser that is not registered.
        public static let unknownParser = Code(rawValue: "unknown_parser")
        /// The raw output is not valid JSON (truncated, garbage).
        public static let malformedJSON = Code(rawValue: "malformed_json")
        /// A worker's tensor frame is not what its header says, or its header is wrong (docs/worker-protocol.md).
        public static let malformedFrame = Code(rawValue: "malformed_frame")
        /// A key the parser needs is absent.
        public static let missingKey = Code(rawValue: "missing_key")
        /// A tensor has the wrong shape or holds something other than numbers.
        public static let wrongShape = Code(rawValue: "wrong_shape")
        /// A value is out of its domain (a label beyond the class list, a NaN coordinate).
        public static let invalidValue = Code(rawValue: "invalid_value")
        /// Calibration for an export is missing or malformed.
        public static let invalidCalibration = Code(rawValue: "invalid_calibration")
        /// The export does not apply to this result (e.g. nuScenes boxes from a lane model).
        public static let unsupportedExport = Code(rawValue: "unsupported_export")
        /// A file could not be read or written.
        public static let io = Code(rawValue: "io")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// True for errors caused by the input (manifest, raw output, calibration), not by the system.
    public var isBadInput: Bool { code != .io }
}
