/// How a 9-number LiDAR box from mmdetection3d is laid out; the versions differ (the trap).
public enum BoxConvention: String, Sendable, Codable {
    /// mmdet3d 0.17: `[x, y, z_bottom, w, l, h, yaw_mmdet, vx, vy]`, `yaw_nus = -yaw_mmdet - pi/2`.
    case mmdet3d017 = "mmdet3d-0.17"
    /// mmdet3d 1.0.0rc6: `[x, y, z_bottom, l, w, h, yaw, vx, vy]`, yaw already the LiDAR yaw.
    case mmdet3d10 = "mmdet3d-1.0"

    /// One box in nuScenes' convention, still in the LiDAR frame.
    public struct Box: Sendable, Equatable {
        /// Gravity centre `[x, y, z]`.
        public var center: [Double]
        public var sizeWlh: [Double]
        public var yaw: Double
        public var velocity: [Double]
    }

    /// Converts one raw row of 9 numbers (what mmdet3d's `output_to_nusc_box` does for its version).
    public func box(_ row: ArraySlice<Double>) -> Box {
        let start = row.startIndex  // read in place: no copy of the row
        func r(_ index: Int) -> Double { row[start + index] }
        let (w, l, h): (Double, Double, Double)
        let yaw: Double
        switch self {
        case .mmdet3d017:
            (w, l, h) = (r(3), r(4), r(5))
            yaw = -r(6) - Double.pi / 2
        case .mmdet3d10:
            (l, w, h) = (r(3), r(4), r(5))
            yaw = r(6)
        }
        // z is the bottom face in both versions; nuScenes wants the gravity centre.
        return Box(center: [r(0), r(1), r(2) + h / 2], sizeWlh: [w, l, h], yaw: yaw, velocity: [r(7), r(8)])
    }
}
