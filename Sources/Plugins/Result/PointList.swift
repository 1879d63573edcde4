/// Points of one dimension (`[x, y]` or `[x, y, z]`) stored flat: the coordinates point after point in
/// one contiguous buffer, not one array per point.
///
/// A VAD result holds about 1,300 points of polylines and plans and 3,600 trajectory points; as nested
/// arrays each was an allocation in the parser, a retain and release in the writer, and a free when the
/// result went. On the wire a list is exactly the nested array it replaces, `[[x, y], [x, y], …]`, in
/// JSON and through `Codable`, so the schema and every byte written stay the same.
///
/// Points are read zero-indexed (`list[2][0]` is the third point's x). A list decoded from `[]` has
/// dimension 0 (nothing says what it would have been); it equals every other empty list.
public struct PointList: Sendable, RandomAccessCollection {
    /// The coordinates, point after point (`count × dimension` numbers).
    public private(set) var coordinates: ArraySlice<Double>
    /// Numbers per point; 0 only for an empty list whose dimension is unknown.
    public private(set) var dimension: Int

    /// `coordinates` read as points of `dimension` numbers each.
    /// - Precondition: `dimension` > 0 and divides `coordinates.count`, or both are empty and 0.
    public init(dimension: Int, coordinates: ArraySlice<Double>) {
        precondition(
            dimension > 0 ? coordinates.count % dimension == 0 : coordinates.isEmpty,
            "\(coordinates.count) coordinates are not a whole number of \(dimension)-D points")
        self.dimension = dimension
        self.coordinates = coordinates
    }

    /// `coordinates` read as points of `dimension` numbers each.
    public init(dimension: Int, coordinates: [Double]) {
        self.init(dimension: dimension, coordinates: coordinates[...])
    }

    /// The list of `rows`, one point each.
    /// - Throws: ``PluginError`` `.wrongShape` when the rows differ in length or a row is empty, naming the row.
    public init(rows: [[Double]]) throws(PluginError) {
        guard let first = rows.first else {
            self.init(dimension: 0, coordinates: [])
            return
        }
        guard !first.isEmpty else { throw PluginError(.wrongShape, "point 0 has no coordinates") }
        var flat: [Double] = []
        flat.reserveCapacity(rows.count * first.count)
        for (index, row) in rows.enumerated() {
            guard row.count == first.count else {
                throw PluginError(.wrongShape, "ragged point list: point \(index) has \(row.count) numbers, point 0 has \(first.count)")
            }
            flat += row
        }
        self.init(dimension: first.count, coordinates: flat)
    }

    /// The points as nested arrays, for code that wants them so (reports, plots); allocates one array a point.
    public var rows: [[Double]] { map { Array($0) } }

    public var startIndex: Int { 0 }
    public var endIndex: Int { dimension == 0 ? 0 : coordinates.count / dimension }

    /// Point `index` (zero-based), sharing this list's storage.
    public subscript(index: Int) -> Point {
        precondition(index >= 0 && index < endIndex, "point \(index) of a list of \(endIndex)")
        let start = coordinates.startIndex + index * dimension
        return Point(coordinates: coordinates[start..<(start + dimension)])
    }

    /// One point's coordinates, zero-indexed (`point[0]` is x).
    public struct Point: Sendable, RandomAccessCollection, Equatable, ExpressibleByArrayLiteral, CustomStringConvertible {
        let coordinates: ArraySlice<Double>

        init(coordinates: ArraySlice<Double>) { self.coordinates = coordinates }

        public init(arrayLiteral elements: Double...) { coordinates = elements[...] }

        public var startIndex: Int { 0 }
        public var endIndex: Int { coordinates.count }
        public subscript(index: Int) -> Double { coordinates[coordinates.startIndex + index] }

        public static func == (lhs: Point, rhs: Point) -> Bool { lhs.coordinates == rhs.coordinates }

        public var description: String { Array(coordinates).description }
    }
}

extension PointList: Equatable {
    /// Equal when the nested arrays they stand for are: same points, same numbers (any two empty lists).
    public static func == (lhs: PointList, rhs: PointList) -> Bool {
        lhs.count == rhs.count && (lhs.isEmpty || lhs.dimension == rhs.dimension) && lhs.coordinates == rhs.coordinates
    }
}

extension PointList: ExpressibleByArrayLiteral {
    /// A literal list of points, `[[0, 0], [1, 1]]`.
    /// - Precondition: every point has the same, nonzero number of coordinates.
    public init(arrayLiteral points: [Double]...) {
        do {
            try self.init(rows: points)
        } catch {
            preconditionFailure("a point list literal: \(error.message)")
        }
    }
}

extension PointList: CustomStringConvertible {
    public var description: String { rows.description }
}

extension PointList: Codable {
    /// Reads `[[x, y], …]`.
    /// - Throws: `DecodingError.dataCorrupted` at the field's coding path when the points differ in length or
    ///   one is empty (`[[1, 2], [3]]`), or the usual type mismatch when it is not a list of lists of numbers.
    public init(from decoder: any Decoder) throws {
        self = try decodeFlat(decoder) { (rows: [[Double]]) throws(PluginError) in try PointList(rows: rows) }
    }

    /// Writes `[[x, y], …]`, as `[[Double]]` would.
    public func encode(to encoder: any Encoder) throws {
        var outer = encoder.unkeyedContainer()
        for point in self {
            var inner = outer.nestedUnkeyedContainer()
            for value in point.coordinates { try inner.encode(value) }
        }
    }
}

/// Decodes nested arrays and makes the flat value of them (``PointList``, ``PointLists``); a ragged shape
/// becomes a `DecodingError.dataCorrupted` at the field's coding path, with the ``PluginError``'s message.
func decodeFlat<Rows: Decodable, Value>(_ decoder: any Decoder, _ make: (Rows) throws(PluginError) -> Value) throws -> Value {
    let rows = try decoder.singleValueContainer().decode(Rows.self)
    do {
        return try make(rows)
    } catch {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
    }
}
