/// A JSON document as the workers write it, kept in key order.
///
/// Python's `json.dumps` writes `NaN`, `Infinity` and `-Infinity` for non-finite floats, so the
/// reader accepts them (Foundation's JSONSerialization does not): a NaN score must reach the parser
/// to be reported, not fail as "invalid JSON".
///
/// A worker's raw output may also hold ``tensor(_:)``: a tensor that came as a binary frame
/// (docs/worker-protocol.md), kept in its typed buffer; it reads, compares and writes as the nested
/// lists its `tolist()` gives.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in document order; objects here are small, so lookup is a linear scan.
    case object([(String, JSONValue)])
    /// A tensor from a binary frame.
    case tensor(Tensor)

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case let (.tensor(a), .tensor(b)): return a == b
        case let (.tensor(a), other), let (other, .tensor(a)): return a.jsonValue == other
        default: return same(lhs, rhs)
        }
    }

    private static func same(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a), .number(b)): a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// The member named `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// A short word for error messages ("a number", "an object").
    public var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number(let value) where value.isNaN: "NaN (not a number)"
        case .number(let value) where value.isInfinite: "\(value < 0 ? "-" : "")Infinity (not a finite number)"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        case .tensor(let tensor): "a \(tensor.dtype.rawValue) tensor of shape \(Tensor.describe(tensor.shape))"
        }
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

extension JSONValue: Encodable {
    /// Non-finite numbers become null: JSON has no NaN, and JSONEncoder would throw.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
        case .string(let value): try container.encode(value)
        case .array(let items): try container.encode(items)
        case .object(let members):
            var keyed = encoder.container(keyedBy: DynamicKey.self)
            for (key, value) in members { try keyed.encode(value, forKey: DynamicKey(key)) }
        case .tensor(let tensor): try tensor.jsonValue.encode(to: encoder)
        }
    }
}

extension JSONValue: Decodable {
    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: DynamicKey.self) {
            var members: [(String, JSONValue)] = []
            for key in keyed.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                members.append((key.stringValue, try keyed.decode(JSONValue.self, forKey: key)))
            }
            self = .object(members)
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !unkeyed.isAtEnd { items.append(try unkeyed.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let value = try? single.decode(Bool.self) { self = .bool(value) }
        else if let value = try? single.decode(Double.self) { self = .number(value) }
        else { self = .string(try single.decode(String.self)) }
    }
}

struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
