#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A rotation as a unit quaternion `w, x, y, z` (nuScenes' and pyquaternion's order).
public struct Quaternion: Sendable, Equatable {
    public var w, x, y, z: Double

    public init(w: Double, x: Double, y: Double, z: Double) {
        self.w = w
        self.x = x
        self.y = y
        self.z = z
    }

    /// A rotation of `radians` about the z axis.
    public init(yaw radians: Double) {
        self.init(w: cos(radians / 2), x: 0, y: 0, z: sin(radians / 2))
    }

    public var norm: Double { (w * w + x * x + y * y + z * z).squareRoot() }

    public var normalized: Quaternion {
        let n = norm
        return Quaternion(w: w / n, x: x / n, y: y / n, z: z / n)
    }

    /// The Hamilton product `self * other`: apply `other` first, then `self`.
    public static func * (a: Quaternion, b: Quaternion) -> Quaternion {
        Quaternion(
            w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
            x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
            y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
            z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w)
    }

    /// Rotates a 3-vector (through the rotation matrix of the normalised quaternion, as pyquaternion does).
    public func rotate(_ v: [Double]) -> [Double] {
        let q = normalized
        let (w, x, y, z) = (q.w, q.x, q.y, q.z)
        return [
            (1 - 2 * (y * y + z * z)) * v[0] + 2 * (x * y - z * w) * v[1] + 2 * (x * z + y * w) * v[2],
            2 * (x * y + z * w) * v[0] + (1 - 2 * (x * x + z * z)) * v[1] + 2 * (y * z - x * w) * v[2],
            2 * (x * z - y * w) * v[0] + 2 * (y * z + x * w) * v[1] + (1 - 2 * (x * x + y * y)) * v[2],
        ]
    }

    public var elements: [Double] { [w, x, y, z] }
}

/// The rigid transforms of one nuScenes sample: LiDAR -> ego and ego -> global.
public struct SampleCalibration: Sendable, Equatable {
    public var lidarToEgoRotation: Quaternion
    public var lidarToEgoTranslation: [Double]
    public var egoToGlobalRotation: Quaternion
    public var egoToGlobalTranslation: [Double]

    public init(lidarToEgoRotation: Quaternion, lidarToEgoTranslation: [Double], egoToGlobalRotation: Quaternion, egoToGlobalTranslation: [Double]) {
        self.lidarToEgoRotation = lidarToEgoRotation
        self.lidarToEgoTranslation = lidarToEgoTranslation
        self.egoToGlobalRotation = egoToGlobalRotation
        self.egoToGlobalTranslation = egoToGlobalTranslation
    }

    /// The identity: all frames coincide (for tests and for results already in the global frame).
    public static let identity = SampleCalibration(
        lidarToEgoRotation: Quaternion(w: 1, x: 0, y: 0, z: 0), lidarToEgoTranslation: [0, 0, 0],
        egoToGlobalRotation: Quaternion(w: 1, x: 0, y: 0, z: 0), egoToGlobalTranslation: [0, 0, 0])

    /// Reads a calibration file: `{sample_token: {"lidar2ego_rotation": [w,x,y,z], "lidar2ego_translation": [x,y,z],
    /// "ego2global_rotation": [w,x,y,z], "ego2global_translation": [x,y,z]}}` (the nuScenes info-file names).
    /// - Throws: ``PluginError`` `.invalidCalibration` naming the token and key.
    public static func readSet(_ value: JSONValue, source: String = "calibration") throws(PluginError) -> [String: SampleCalibration] {
        guard case .object(let members) = value else {
            throw PluginError(.invalidCalibration, "\(source): expected an object keyed by sample token, got \(value.kind)")
        }
        var set: [String: SampleCalibration] = [:]
        for (token, entry) in members {
            func vector(_ key: String, _ count: Int) throws(PluginError) -> [Double] {
                guard let item = entry[key] else {
                    throw PluginError(.invalidCalibration, "\(source): key '\(token).\(key)' is missing")
                }
                guard case .array(let items) = item, items.count == count,
                      case let numbers = items.compactMap(\.numberValue), numbers.count == count, numbers.allSatisfy(\.isFinite) else {
                    throw PluginError(.invalidCalibration, "\(source): key '\(token).\(key)': expected \(count) finite numbers")
                }
                return numbers
            }
            func rotation(_ key: String) throws(PluginError) -> Quaternion {
                let q = try vector(key, 4)
                let quaternion = Quaternion(w: q[0], x: q[1], y: q[2], z: q[3])
                guard abs(quaternion.norm - 1) < 1e-3 else {
                    throw PluginError(.invalidCalibration, "\(source): key '\(token).\(key)': quaternion [w,x,y,z] has norm \(quaternion.norm), expected 1")
                }
                return quaternion
            }
            set[token] = SampleCalibration(
                lidarToEgoRotation: try rotation("lidar2ego_rotation"), lidarToEgoTranslation: try vector("lidar2ego_translation", 3),
                egoToGlobalRotation: try rotation("ego2global_rotation"), egoToGlobalTranslation: try vector("ego2global_translation", 3))
        }
        return set
    }
}
