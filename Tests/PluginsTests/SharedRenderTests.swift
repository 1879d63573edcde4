import Foundation
import Synchronization
import Testing
@testable import Plugins

/// A large result written on two threads (``SharedRender``) must be the very bytes one thread writes, and
/// fail with the error one thread meets first, whoever takes which piece and whenever the helper starts.
@Suite("A shared render writes what one thread writes")
struct SharedRenderTests {
    /// Runs the work on a thread of its own, at once.
    struct ThreadHelper: RenderHelper {
        func offer(_ work: @escaping @Sendable () -> Void) -> Bool {
            Thread.detachNewThread { work() }
            return true
        }
    }

    /// Says yes and never runs the work: the caller writes every piece.
    struct AbsentHelper: RenderHelper {
        func offer(_ work: @escaping @Sendable () -> Void) -> Bool { true }
    }

    /// Runs the work before answering: the helper writes every piece, the caller none.
    struct EagerHelper: RenderHelper {
        func offer(_ work: @escaping @Sendable () -> Void) -> Bool {
            work()
            return true
        }
    }

    /// Starts the work 2 ms later: it finds nothing left, or the last pieces.
    struct LateHelper: RenderHelper {
        func offer(_ work: @escaping @Sendable () -> Void) -> Bool {
            Thread.detachNewThread {
                usleep(2000)
                work()
            }
            return true
        }
    }

    /// Has no thread free: the caller writes the result alone, the usual way.
    struct BusyHelper: RenderHelper {
        func offer(_ work: @escaping @Sendable () -> Void) -> Bool { false }
    }

    static let helpers: [(String, any RenderHelper)] = [
        ("thread", ThreadHelper()), ("absent", AbsentHelper()), ("eager", EagerHelper()), ("late", LateHelper()), ("busy", BusyHelper()),
    ]

    /// A VAD-shaped result: `detections` boxes with `modes` trajectories of `steps` points each, 50 map
    /// vectors of 20 points, a plan with 3 candidates; numbers from a seeded generator.
    static func vadLike(detections: Int, modes: Int = 6, steps: Int = 6, seed: UInt64 = 1) -> StandardResult {
        var generator = SeededGenerator(seed: seed)
        func value() -> Double { Double(Float(Double.random(in: -50...50, using: &generator))) }
        func values(_ count: Int) -> [Double] { (0..<count).map { _ in value() } }
        var result = StandardResult(meta: ResultMeta(model: "VAD", pluginVersion: "1", checkpoint: "c.pth", scoreThreshold: 0, sampleID: "s"))
        result.detections = (0..<detections).map { index in
            Detection3D(
                label: "car", labelIndex: index % 10, score: Double(Float(Double(index) / Double(detections + 1))),
                centerLidar: values(3), sizeWlh: values(3), yawLidar: value(), velocityLidar: values(2),
                trajectoriesLidar: PointLists(lists: modes, pointsPerList: steps, dimension: 2, coordinates: values(modes * steps * 2)),
                trajectoryStepSeconds: 0.5)
        }
        result.mapElements = (0..<50).map { index in
            MapElement(label: "divider", labelIndex: index % 3, score: 0.5, polylineLidar: PointList(dimension: 2, coordinates: values(40)), bboxLidar: values(4))
        }
        let candidates = ["turn left", "turn right", "go straight"].map { EgoPlan.Candidate(command: $0, trajectoryLidar: PointList(dimension: 2, coordinates: values(12))) }
        result.egoPlan = EgoPlan(command: "go straight", commandIndex: 2, trajectoryLidar: PointList(dimension: 2, coordinates: values(12)), stepSeconds: 0.5, candidates: candidates)
        result.meta.timingsSeconds = ["inference_s": 0.0125, "parse_s": 0.0001]
        result.meta.warnings = ["a \"quoted\" warning"]
        return result
    }

    static func shared(_ result: StandardResult, _ helper: any RenderHelper) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = Array("prefix ".utf8)  // a reused buffer keeps what it held before
        try result.writeJSON(into: &out, helper: helper)
        return out
    }

    @Test("only a result with enough detection bytes is shared")
    func threshold() {
        #expect(SharedRender(Self.vadLike(detections: 100)) != nil)
        #expect(SharedRender(Self.vadLike(detections: 20)) == nil, "~33 KB of detections")
        #expect(SharedRender(Self.vadLike(detections: 300, modes: 0, steps: 0)) == nil, "PETR-sized: boxes only")
        #expect(SharedRender(Self.vadLike(detections: 1, modes: 6, steps: 2000)) == nil, "one detection cannot be split")
        var none = Self.vadLike(detections: 100)
        none.detections = nil
        #expect(SharedRender(none) == nil)
    }

    @Test("the same bytes, whoever writes which piece", arguments: [80, 81, 100, 128, 257])
    func sameBytes(detections: Int) throws {
        let result = Self.vadLike(detections: detections, seed: UInt64(detections))
        #expect(SharedRender(result) != nil, "\(detections) detections are shared")
        let expected = Array("prefix ".utf8) + (try result.jsonBytes())
        for (name, helper) in Self.helpers {
            let written = try Self.shared(result, helper)
            #expect(written == expected, "\(name) helper, \(detections) detections: \(written.count) bytes against \(expected.count)")
        }
    }

    @Test("one detection a piece: two detections with long trajectories")
    func onePerPiece() throws {
        let result = Self.vadLike(detections: 2, modes: 6, steps: 2000)
        #expect(SharedRender(result) != nil)
        let expected = Array("prefix ".utf8) + (try result.jsonBytes())
        for (name, helper) in Self.helpers { #expect(try Self.shared(result, helper) == expected, "\(name)") }
    }

    @Test("many renders with a real second thread, racing for the pieces")
    func races() throws {
        let result = Self.vadLike(detections: 100, seed: 7)
        let expected = Array("prefix ".utf8) + (try result.jsonBytes())
        var mismatches = 0
        for _ in 0..<300 where try Self.shared(result, ThreadHelper()) != expected { mismatches += 1 }
        #expect(mismatches == 0)
    }

    @Test("a non-finite number fails as it does on one thread: the first one in the document", arguments: [0, 37, 99])
    func errors(detection: Int) throws {
        var result = Self.vadLike(detections: 100)
        result.detections?[detection].yawLidar = .infinity
        result.mapElements?[3].score = .nan  // after the detections: one thread never gets there
        let alone = #expect(throws: PluginError.self) { try result.jsonBytes() }
        #expect(alone?.message.contains("inf") == true)
        for (name, helper) in Self.helpers {
            let shared = #expect(throws: PluginError.self, "\(name)") { try Self.shared(result, helper) }
            #expect(shared?.code == alone?.code && shared?.message == alone?.message, "\(name): \(shared?.message ?? "no error")")
        }
        result.detections?[detection].yawLidar = 1
        let mapOnly = #expect(throws: PluginError.self) { try result.jsonBytes() }
        #expect(mapOnly?.message.contains("nan") == true)
        for (name, helper) in Self.helpers {
            let shared = #expect(throws: PluginError.self, "\(name)") { try Self.shared(result, helper) }
            #expect(shared?.message == mapOnly?.message, "\(name)")
        }
    }
}

/// A small deterministic generator (SplitMix64), so each test's numbers are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
