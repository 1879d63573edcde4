/// Where a pod's kept output (for `-b`, `--json` and health) was cut: the bytes after `at` in the kept
/// copy follow the `dropped` bytes that were not kept.
public struct OutputCut: Sendable, Hashable, Codable {
    /// Offset in the kept bytes where the gap is (the end of the kept head).
    public var at: Int
    /// Bytes the pod sent that were not kept.
    public var dropped: Int
}
