/// Where a node starts in its text: 1-based line and column (columns count Unicode scalars).
public struct YAMLMark: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// A scalar as written: its text after unquoting and folding, and how it was quoted (only a plain
/// scalar can be a number, a boolean or null).
public struct YAMLScalar: Sendable, Equatable {
    public enum Style: Sendable, Equatable { case plain, singleQuoted, doubleQuoted }
    public let string: String
    public let style: Style
    public let mark: YAMLMark
}

/// A mapping's entries in the order written (keys are unique: the reader refuses a repeated key).
public struct YAMLMapping: Sendable, Equatable, Sequence {
    public typealias Element = (key: YAMLNode, value: YAMLNode)
    public let mark: YAMLMark
    let entries: [Entry]

    struct Entry: Sendable, Equatable {
        let key: YAMLNode
        let value: YAMLNode
    }

    public init(mark: YAMLMark, _ pairs: [(key: YAMLNode, value: YAMLNode)] = []) {
        self.mark = mark
        self.entries = pairs.map { Entry(key: $0.key, value: $0.value) }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// The value of the entry whose key is the scalar `key`.
    public subscript(key: String) -> YAMLNode? {
        entries.first { $0.key.string == key }?.value
    }

    public func makeIterator() -> AnyIterator<Element> {
        var index = 0
        return AnyIterator {
            guard index < entries.count else { return nil }
            defer { index += 1 }
            return (entries[index].key, entries[index].value)
        }
    }
}

/// A node of the YAML subset ``YAMLParser`` reads: scalars, mappings and sequences. There are no
/// anchors, aliases, tags or block scalars: the reader refuses them.
public indirect enum YAMLNode: Sendable, Equatable {
    case scalar(YAMLScalar)
    case mapping(YAMLMapping)
    case sequence([YAMLNode], YAMLMark)

    public var mark: YAMLMark {
        switch self {
        case .scalar(let scalar): scalar.mark
        case .mapping(let mapping): mapping.mark
        case .sequence(_, let mark): mark
        }
    }

    public var scalar: YAMLScalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }

    public var mapping: YAMLMapping? {
        if case .mapping(let mapping) = self { return mapping }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items, _) = self { return items }
        return nil
    }

    /// A scalar's text.
    public var string: String? { scalar?.string }

    /// A plain `true`/`false` (YAML 1.2's core schema: also `True`, `TRUE`, `False`, `FALSE`).
    public var bool: Bool? {
        guard let text = plainText else { return nil }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    /// A plain decimal integer (optional sign, digits, `_` separators between digits) that fits an `Int`.
    public var int: Int? {
        guard var text = plainText, !text.isEmpty else { return nil }
        var sign = ""
        if let first = text.first, first == "-" || first == "+" {
            sign = first == "-" ? "-" : ""
            text.removeFirst()
        }
        guard let first = text.first, first.isASCII, first.isNumber, let last = text.last, last.isASCII, last.isNumber,
            text.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" })
        else { return nil }
        return Int(sign + text.filter { $0 != "_" })
    }

    /// A plain number: an integer, a decimal with optional exponent, or `.inf`, `-.inf`, `.nan`.
    public var float: Double? {
        guard let text = plainText, !text.isEmpty else { return nil }
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        // Swift's Double(String) also takes hex floats, "inf" and "nan": only YAML's decimal form counts.
        guard text.allSatisfy({ ($0.isASCII && $0.isNumber) || "+-.eE_".contains($0) }),
            text.contains(where: { $0.isASCII && $0.isNumber })
        else { return nil }
        return Double(text.filter { $0 != "_" })
    }

    /// Plain `null`, `Null`, `NULL`, `~` or nothing at all.
    public var isNull: Bool {
        guard let text = plainText else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }

    private var plainText: String? {
        guard case .scalar(let scalar) = self, scalar.style == .plain else { return nil }
        return scalar.string
    }
}

/// Why a text is not the YAML this reader takes: where and what.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let mark: YAMLMark
    public let problem: String

    public init(_ mark: YAMLMark, _ problem: String) {
        self.mark = mark
        self.problem = problem
    }

    public var description: String { "\(mark): \(problem)" }
}
