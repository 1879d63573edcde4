import Dispatch
import Synchronization

/// Another thread that may take part of a large result's render (``StandardResult/writeJSON(into:helper:)``).
public protocol RenderHelper: Sendable {
    /// Runs `work` on another thread soon and answers true, or answers false when no thread is free now
    /// (the caller then renders alone). Work that starts late finds little or nothing left to do.
    func offer(_ work: @escaping @Sendable () -> Void) -> Bool
}

/// One result's render split into pieces that the caller's thread and one helper take in turn: the part
/// after the detections (the map, the plan, the meta, ...), then the detections in runs of about
/// ``pieceBytes``. Each piece is written into memory of its own; the caller joins them in document
/// order, so the bytes are exactly what one thread writes.
///
/// The caller never waits for the helper to start: whatever the helper has not taken, the caller
/// renders itself, and at the end it waits only for the piece the helper is still writing.
final class SharedRender: Sendable {
    /// Below this (the result's estimated detection bytes) one thread writes it: the helper's wake-up
    /// costs about what it saves (PETR's 300 boxes, ~60 KB: no gain measured; VAD's 100 with trajectories, ~160 KB: ~0.1 ms).
    static let minimumBytes = 128 * 1024
    /// About this many bytes of detections a piece.
    static let pieceBytes = 8 * 1024
    /// The most pieces of detections.
    static let maximumPieces = 64
    /// How long the caller spins for the helper's last piece before it sleeps (a piece takes ~12 µs).
    static let spin = Duration.microseconds(30)

    private let result: StandardResult
    /// The estimated bytes of the detections (the rest of the estimate is the part after them).
    private let detectionBytes: Int
    /// The detections each piece after the first (piece 0 is the part after the detections) writes.
    private let runs: [Range<Int>]
    private let next = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let waiting = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let pieces: Mutex<[Result<[UInt8], PluginError>?]>

    /// The shared render of `result`, or nil when it is too small to be worth sharing.
    init?(_ result: StandardResult) {
        guard let detections = result.detections, detections.count >= 2 else { return nil }
        let bytes = result.estimatedDetectionBytes
        guard bytes >= Self.minimumBytes else { return nil }
        let count = min(detections.count, Self.maximumPieces, max(2, bytes / Self.pieceBytes))
        self.runs = (0..<count).map { index in
            (detections.count * index / count)..<(detections.count * (index + 1) / count)
        }
        self.result = result
        self.detectionBytes = bytes
        self.pieces = Mutex(Array(repeating: nil, count: count + 1))
    }

    private var count: Int { runs.count + 1 }

    /// Takes and writes pieces until none are left (the caller's thread and the helper's both run it).
    func work() {
        while true {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard index < count else { return }
            let piece = render(index)
            pieces.withLock { $0[index] = piece }
            // Sequentially consistent with `wait`'s store and load: one of the two sees the other.
            let done = finished.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
            if done == count, waiting.load(ordering: .sequentiallyConsistent) { wake.signal() }
        }
    }

    /// Waits until every piece is written: spinning a little (the helper is mid-piece), then asleep.
    func wait() {
        guard finished.load(ordering: .sequentiallyConsistent) < count else { return }
        let deadline = ContinuousClock.now + Self.spin
        var spins = 0
        while finished.load(ordering: .acquiring) < count {
            spins += 1
            if spins & 63 == 0, ContinuousClock.now > deadline {
                waiting.store(true, ordering: .sequentiallyConsistent)
                if finished.load(ordering: .sequentiallyConsistent) < count { wake.wait() }
                return
            }
        }
    }

    /// Appends the pieces in document order; throws the first piece's error in that order (the one a
    /// single thread would have met first).
    /// - Precondition: ``wait()`` returned.
    func append(to out: inout [UInt8]) throws(PluginError) {
        let pieces = pieces.withLock { $0 }
        for index in [Int](1..<count) + [0] {
            guard let piece = pieces[index] else { preconditionFailure("piece \(index) of a shared render was never written") }
            switch piece {
            case .success(let bytes): out.append(contentsOf: bytes)
            case .failure(let error): throw error
            }
        }
    }

    /// Piece 0: `]` closing the detections and the rest of the document; piece n: the detections of
    /// run n − 1, with the comma before each but the very first.
    private func render(_ index: Int) -> Result<[UInt8], PluginError> {
        var writer: ResultJSONWriter
        do throws(PluginError) {
            if index == 0 {
                writer = ResultJSONWriter(out: [], open: [false, false])
                writer.out.reserveCapacity(max(4096, result.estimatedSize - detectionBytes))
                try writer.closeDetections(result)
            } else {
                let run = runs[index - 1]
                writer = ResultJSONWriter(out: [], open: [run.lowerBound == 0])
                writer.out.reserveCapacity(Self.pieceBytes + Self.pieceBytes / 2)
                try writer.detections(result.detections?[run] ?? [])
            }
        } catch {
            return .failure(error)
        }
        return .success(writer.out)
    }
}
