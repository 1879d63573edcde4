/// What podagent's modules used Foundation's `trimmingCharacters(in:)` for, without Foundation.
extension StringProtocol {
    /// Without leading and trailing whitespace (`Character.isWhitespace`); with `newlines: false`,
    /// line breaks stay (as `CharacterSet.whitespaces` leaves them).
    public func trimmingSpace(newlines: Bool = true) -> String {
        // Most strings (tokens, numbers, names) start and end with a printable ASCII character: then
        // there is nothing to trim, and no Character has to be formed (a grapheme cluster that ends in
        // one cannot start with a space: no space joins what follows it).
        let text = String(self)
        if let first = text.utf8.first, let last = text.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return text
        }
        return trimming { $0.isWhitespace && (newlines || !$0.isNewline) }
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
