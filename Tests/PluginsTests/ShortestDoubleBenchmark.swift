import Foundation
import Testing

@testable import Plugins

/// Not a test: the number-text benchmark (bench/numbers/run), run only with PODAGENT_BENCH=1.
/// ``ShortestDouble`` against what the writer used before and what Swift code uses anyway: the standard
/// library's `Double.write(to:)` into a byte sink (the same text without a String) and `description`,
/// in the same run, for the numbers a VAD result writes (~10,500 doubles widened from float32 tensors)
/// and for random doubles of every magnitude. Each takes the same list; the median of 200 rounds.
@Suite("Number text benchmark (PODAGENT_BENCH=1 only)")
struct ShortestDoubleBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["PODAGENT_BENCH"] == "1"

    struct Sink: TextOutputStream {
        var bytes: [UInt8] = []
        mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }
        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
    }

    /// Median nanoseconds per number of `round` over `values`, and the bytes one round wrote.
    static func measure(_ values: [Double], _ round: ([Double]) -> Int) -> (ns: Double, bytes: Int) {
        var samples: [Double] = []
        var bytes = 0
        for _ in 0..<200 {
            let started = ContinuousClock.now
            bytes = round(values)
            samples.append((ContinuousClock.now - started).inSeconds * 1e9 / Double(values.count))
        }
        return (samples.sorted()[samples.count / 2], bytes)
    }

    @Test(.enabled(if: enabled, "set PODAGENT_BENCH=1 to run the number-text benchmark"))
    func numbers() throws {
        var generator = SystemRandomNumberGenerator()
        let sets: [(String, [Double])] = [
            ("VAD-like: 10,500 float32 values in ±50", (0..<10_500).map { _ in Double(Float.random(in: -50...50, using: &generator)) }),
            ("10,500 random doubles, any magnitude", (0..<10_500).map { _ in
                var value = Double.nan
                while !value.isFinite { value = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator)) }
                return value
            }),
        ]
        var lines = ["| numbers | ShortestDouble (ns/number) | Double.write(to:) (ns/number) | description (ns/number) | write / ShortestDouble |", "|---|---|---|---|---|"]
        for (name, values) in sets {
            let output = UnsafeMutablePointer<UInt8>.allocate(capacity: values.count * ShortestDouble.room + 64)
            defer { output.deallocate() }
            let fast = Self.measure(values) { values in
                var cursor = output
                for value in values {
                    cursor += ShortestDouble.write(value, to: cursor)
                    cursor.pointee = UInt8(ascii: ",")
                    cursor += 1
                }
                return cursor - output
            }
            var sink = Sink()
            sink.bytes.reserveCapacity(values.count * 32)
            let standard = Self.measure(values) { values in
                sink.bytes.removeAll(keepingCapacity: true)
                for value in values {
                    value.write(to: &sink)
                    sink.bytes.append(UInt8(ascii: ","))
                }
                return sink.bytes.count
            }
            let described = Self.measure(values) { values in values.reduce(0) { $0 + $1.description.utf8.count + 1 } }
            // Same text from all three, or the comparison means nothing.
            #expect(fast.bytes == standard.bytes && standard.bytes == described.bytes)
            #expect(Array(UnsafeBufferPointer(start: output, count: fast.bytes)) == sink.bytes)
            lines.append(String(format: "| %@ | %.1f | %.1f | %.1f | %.2fx |", name, fast.ns, standard.ns, described.ns, standard.ns / fast.ns))
        }
        let report = lines.joined(separator: "\n")
        print(report)
        if let path = ProcessInfo.processInfo.environment["PODAGENT_BENCH_OUT"] {
            try (report + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}
