/// Foundation's `replacingOccurrences(of:with:)` without Foundation: a literal search of the UTF-8
/// bytes. (The standard library's `replacing(_:with:)` compares Characters, so it would not find
/// "\r" inside "\r\n", nor a secret followed by a combining mark.)
extension StringProtocol {
    /// Every non-overlapping occurrence of `target`, left to right, replaced by `replacement`.
    public func replacingLiteral(_ target: some StringProtocol, with replacement: some StringProtocol) -> String {
        let needle = Array(target.utf8)
        let haystack = Array(utf8)
        guard !needle.isEmpty, haystack.count >= needle.count else { return String(self) }
        var out: [UInt8] = []
        out.reserveCapacity(haystack.count)
        var index = 0
        while index < haystack.count {
            if haystack[index] == needle[0], index + needle.count <= haystack.count, haystack[index..<index + needle.count].elementsEqual(needle) {
                out.append(contentsOf: replacement.utf8)
                index += needle.count
            } else {
                out.append(haystack[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
