/// Point lists of one length and one dimension (a detection's trajectories: modes × steps × `[x, y]`)
/// stored flat in one buffer: one allocation for what were 43 nested arrays a VAD box.
///
/// On the wire it is the nested array it replaces, `[[[x, y], …], …]`. Each list reads as a ``PointList``
/// sharing this storage. Lists decoded as `[[], []]` have points of dimension 0.
public struct PointLists: Sendable, RandomAccessCollection {
    /// Every list's coordinates, list after list, point after point.
    public private(set) var coordinates: [Double]
    /// Points in each list.
    public private(set) var pointsPerList: Int
    /// Numbers per point; 0 only when there are no points.
    public private(set) var dimension: Int
    /// The number of lists (kept apart: lists of no points take no coordinates).
    public let endIndex: Int

    /// `coordinates` read as `lists` lists of `pointsPerList` points of `dimension` numbers.
    /// - Precondition: the sizes are not negative and their product is `coordinates.count`; a dimension of
    ///   0 only with no points.
    public init(lists: Int, pointsPerList: Int, dimension: Int, coordinates: [Double]) {
        precondition(lists >= 0 && pointsPerList >= 0 && dimension >= 0, "negative sizes")
        precondition(dimension > 0 || pointsPerList == 0 || lists == 0, "points of no coordinates")
        precondition(lists * pointsPerList * dimension == coordinates.count,
                     "\(coordinates.count) coordinates are not \(lists) lists of \(pointsPerList) \(dimension)-D points")
        self.endIndex = lists
        self.pointsPerList = pointsPerList
        self.dimension = dimension
        self.coordinates = coordinates
    }

    /// The lists of `rows`.
    /// - Throws: ``PluginError`` `.wrongShape` when the lists differ in length or their points in dimension, naming
    ///   the list and point.
    public init(rows: [[[Double]]]) throws(PluginError) {
        let points = rows.first?.count ?? 0
        let dimension = rows.first?.first?.count ?? 0
        if points > 0, dimension == 0 { throw PluginError(.wrongShape, "list 0, point 0 has no coordinates") }
        var flat: [Double] = []
        flat.reserveCapacity(rows.count * points * dimension)
        for (index, list) in rows.enumerated() {
            guard list.count == points else {
                throw PluginError(.wrongShape, "ragged point lists: list \(index) has \(list.count) points, list 0 has \(points)")
            }
            for (pointIndex, point) in list.enumerated() {
                guard point.count == dimension else {
                    throw PluginError(.wrongShape, "ragged point lists: list \(index), point \(pointIndex) has \(point.count) numbers, list 0's points have \(dimension)")
                }
                flat += point
            }
        }
        self.init(lists: rows.count, pointsPerList: points, dimension: dimension, coordinates: flat)
    }

    /// The lists as nested arrays, for code that wants them so; allocates one array a point.
    public var rows: [[[Double]]] { map(\.rows) }

    public var startIndex: Int { 0 }

    /// List `index` (zero-based), sharing this storage.
    public subscript(index: Int) -> PointList {
        precondition(index >= 0 && index < endIndex, "list \(index) of \(endIndex)")
        let width = pointsPerList * dimension
        return PointList(dimension: dimension, coordinates: coordinates[(index * width)..<((index + 1) * width)])
    }
}

extension PointLists: Equatable {
    /// Equal when the nested arrays they stand for are.
    public static func == (lhs: PointLists, rhs: PointLists) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        guard lhs.pointsPerList == rhs.pointsPerList else { return false }
        return lhs.pointsPerList == 0 || (lhs.dimension == rhs.dimension && lhs.coordinates == rhs.coordinates)
    }
}

extension PointLists: CustomStringConvertible {
    public var description: String { rows.description }
}

extension PointLists: Codable {
    /// Reads `[[[x, y], …], …]`.
    /// - Throws: `DecodingError.dataCorrupted` at the field's coding path when lists differ in length or
    ///   points in dimension.
    public init(from decoder: any Decoder) throws {
        self = try decodeFlat(decoder) { (rows: [[[Double]]]) throws(PluginError) in try PointLists(rows: rows) }
    }

    /// Writes `[[[x, y], …], …]`, as `[[[Double]]]` would.
    public func encode(to encoder: any Encoder) throws {
        var outer = encoder.unkeyedContainer()
        for list in self { try outer.encode(list) }
    }
}
