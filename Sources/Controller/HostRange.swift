/// Host-range notation as pdsh and ClusterShell write it: `pod[01-05,07]`, `clu-[1-2]-[1-4]`.
public enum HostRange {
    /// Expands every bracket group; zero padding follows the width of each range's first number.
    /// Throws on unbalanced brackets, empty groups, reversed or non-numeric ranges.
    public static func expand(_ pattern: String) throws(ControllerError) -> [String] {
        guard let open = pattern.firstIndex(of: "[") else {
            if pattern.contains("]") { throw ControllerError(.targets, "unbalanced ']' in '\(pattern)'") }
            return [pattern]
        }
        guard let close = pattern[open...].firstIndex(of: "]") else {
            throw ControllerError(.targets, "unbalanced '[' in '\(pattern)'")
        }
        let prefix = String(pattern[..<open])
        if prefix.contains("]") { throw ControllerError(.targets, "unbalanced ']' in '\(pattern)'") }
        let body = pattern[pattern.index(after: open)..<close]
        let rest = try expand(String(pattern[pattern.index(after: close)...]))
        var values: [String] = []
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            values += try expandPart(String(part), in: pattern)
        }
        var result: [String] = []
        result.reserveCapacity(values.count * rest.count)
        for value in values {
            for tail in rest { result.append(prefix + value + tail) }
        }
        return result
    }

    private static func expandPart(_ part: String, in pattern: String) throws(ControllerError) -> [String] {
        let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        func number(_ text: String) throws(ControllerError) -> Int {
            guard !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let value = Int(text) else {
                throw ControllerError(.targets, "'\(part)' in '\(pattern)' is not a number or a range like 01-16")
            }
            return value
        }
        switch bounds.count {
        case 1:
            _ = try number(bounds[0])
            return [bounds[0]]
        case 2:
            let low = try number(bounds[0])
            let high = try number(bounds[1])
            guard low <= high else { throw ControllerError(.targets, "range \(part) in '\(pattern)' runs backwards") }
            guard high - low < 100_000 else { throw ControllerError(.targets, "range \(part) in '\(pattern)' is too large") }
            let width = bounds[0].count
            return (low...high).map { pad($0, width) }
        default:
            throw ControllerError(.targets, "'\(part)' in '\(pattern)' is not a number or a range like 01-16")
        }
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Splits a comma-separated list of patterns, leaving commas inside brackets alone.
    public static func splitList(_ list: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in list {
            if character == "[" { depth += 1 }
            if character == "]" { depth = max(0, depth - 1) }
            if character == ",", depth == 0 {
                if !current.isEmpty { parts.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    /// Folds names into the compressed form `dshbak -c` prints: `pod[01-05,07],gpu-a`.
    /// The last run of digits in each name is the one folded; order is by prefix, then number.
    public static func fold(_ names: [String]) -> String {
        struct Key: Hashable { var prefix: String; var suffix: String; var width: Int }
        var groups: [Key: [Int: String]] = [:]
        var order: [Key] = []
        var plain: [String] = []
        for name in Set(names).sorted() {
            guard let (prefix, digits, suffix) = lastNumber(in: name), let value = Int(digits) else {
                plain.append(name)
                continue
            }
            let padded = digits.count > 1 && digits.first == "0"
            let key = Key(prefix: prefix, suffix: suffix, width: padded ? digits.count : -digits.count)
            if groups[key] == nil { order.append(key) }
            groups[key, default: [:]][value] = digits
        }
        // Unpadded numbers as wide as a padded group's numbers belong to that group (pod10 with pod01).
        for key in order where key.width < 0 {
            let paddedKey = Key(prefix: key.prefix, suffix: key.suffix, width: -key.width)
            if groups[paddedKey] != nil, let members = groups.removeValue(forKey: key) {
                groups[paddedKey]?.merge(members) { first, _ in first }
            }
        }
        // Unpadded groups of different widths share one bracket (pod9 and pod10 -> pod[9-10]).
        var merged: [Key: [Int: String]] = [:]
        var mergedOrder: [Key] = []
        for key in order {
            guard let members = groups[key] else { continue }
            let target = key.width < 0 ? Key(prefix: key.prefix, suffix: key.suffix, width: 0) : key
            if merged[target] == nil { mergedOrder.append(target) }
            merged[target, default: [:]].merge(members) { first, _ in first }
        }
        var pieces: [(String, String)] = plain.map { ($0, $0) }
        for key in mergedOrder {
            guard let members = merged[key] else { continue }
            let numbers = members.keys.sorted()
            if numbers.count == 1, let only = numbers.first, let digits = members[only] {
                pieces.append((key.prefix, key.prefix + digits + key.suffix))
                continue
            }
            var ranges: [String] = []
            var start = numbers[0]
            var previous = numbers[0]
            let width = max(key.width, 0)
            func flush() {
                ranges.append(start == previous ? pad(start, width) : "\(pad(start, width))-\(pad(previous, width))")
            }
            for value in numbers.dropFirst() {
                if value == previous + 1 { previous = value; continue }
                flush()
                start = value
                previous = value
            }
            flush()
            pieces.append((key.prefix, "\(key.prefix)[\(ranges.joined(separator: ","))]\(key.suffix)"))
        }
        return pieces.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map(\.1).joined(separator: ",")
    }

    private static func lastNumber(in name: String) -> (String, String, String)? {
        let characters = Array(name)
        guard let end = characters.lastIndex(where: { $0.isASCII && $0.isNumber }) else { return nil }
        var start = end
        while start > 0, characters[start - 1].isASCII, characters[start - 1].isNumber { start -= 1 }
        return (String(characters[..<start]), String(characters[start...end]), String(characters[(end + 1)...]))
    }
}
