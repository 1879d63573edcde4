/// What podagent's modules used Foundation's `trimmingCharacters(in:)` for, without Foundation.
extension StringProtocol {
    /// Without leading and trailing whitespace (`Character.isWhitespace`); with `newlines: false`,
    /// line breaks stay (as `CharacterSet.whitespaces` leaves them).
    public func trimmingSpace(newlines: Bool = true) -> String {
        trimming { $0.isWhitespace && (newlines || !$0.isNewline) }
    }

    /// Without leading and trailing characters that are in `characters`.
    public func trimming(charactersIn characters: String) -> String {
        trimming { characters.contains($0) }
    }

    private func trimming(where drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }
}
