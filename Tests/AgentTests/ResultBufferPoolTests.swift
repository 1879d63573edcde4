#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
@testable import Plugins
import Testing

@testable import Agent

/// The reused render and response buffers of the inference routes: whatever the order, the size or
/// an answer still being written, each body holds its own bytes and nothing of another's.
@Suite("Result buffer pool: reused memory never mixes answers")
struct ResultBufferPoolTests {
    static func bytes(_ count: Int, _ seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed }
    }

    static func readable(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    @Test("a long answer then a short one: the second holds only its own bytes, and the memory is reused")
    func longThenShort() throws {
        let pool = ResultBufferPool(count: 1, retainedCapacity: 1 << 16)
        let long = Self.bytes(40_000, 0xA5), short = Self.bytes(10, 0x3C)
        var first: ByteBuffer? = pool.render { $0 += long }
        #expect(first.map(Self.readable) == long)
        first = nil  // written out: the pool holds the only reference
        let second = pool.render { $0 += short }
        #expect(Self.readable(second) == short)
        #expect(second.readableBytes == 10)
        #expect(second.capacity >= 40_000, "the first answer's storage was not reused")
    }

    @Test("an answer still being written keeps its bytes when the next one is rendered")
    func inFlightAnswerUntouched() throws {
        let pool = ResultBufferPool(count: 1, retainedCapacity: 1 << 16)
        let a = Self.bytes(5_000, 0x11), b = Self.bytes(7_000, 0x77)
        let first = pool.render { $0 += a }  // still held, as by a response not yet written
        let second = pool.render { $0 += b }
        let third = pool.render { $0 += a.prefix(100) }
        #expect(Self.readable(first) == a)
        #expect(Self.readable(second) == b)
        #expect(Self.readable(third) == Array(a.prefix(100)))
    }

    @Test("each render starts from an empty buffer: nothing of the last answer is in the next one's input")
    func renderStartsEmpty() throws {
        let pool = ResultBufferPool(count: 1, retainedCapacity: 1 << 16)
        _ = pool.render { $0 += Self.bytes(3_000, 1) }
        var seen: [Int] = []
        let next = pool.render { out in
            seen.append(out.count)
            out += [1, 2, 3]
        }
        #expect(seen == [0])
        #expect(Self.readable(next) == [1, 2, 3])
    }

    @Test("an answer larger than the pool keeps: served whole, then given back to the allocator")
    func largerThanRetained() throws {
        let pool = ResultBufferPool(count: 2, retainedCapacity: 4096)
        let huge = Self.bytes(100_000, 0x5A), small = Self.bytes(300, 0x21)
        var first: ByteBuffer? = pool.render { $0 += huge }
        #expect(first.map(Self.readable) == huge)
        first = nil
        let next = pool.render { $0 += small }
        #expect(Self.readable(next) == small)
        #expect(next.capacity < 100_000, "a buffer above retainedCapacity was kept")
    }

    @Test("a render that throws returns nothing, and the next one is whole")
    func throwingRender() throws {
        let pool = ResultBufferPool(count: 1, retainedCapacity: 1 << 16)
        #expect(throws: AgentError.self) {
            _ = try pool.render { (out) throws(AgentError) in
                out += Self.bytes(2_000, 9)
                throw AgentError(.invalidArgument, "the number nan is not finite")
            }
        }
        let next = pool.render { $0 += [0x7B, 0x7D] }
        #expect(Self.readable(next) == [0x7B, 0x7D])
    }

    @Test("concurrent renders of different answers: each body is exactly its own")
    func concurrentRenders() async throws {
        let pool = ResultBufferPool(count: 2, retainedCapacity: 1 << 16)
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var wrong = 0
                    for round in 0..<200 {
                        let expected = Self.bytes(100 + (task * 977 + round * 131) % 70_000, UInt8(task))
                        let body = pool.render { $0 += expected }
                        if Self.readable(body) != expected { wrong += 1 }
                    }
                    return wrong
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test("the standard result appended into a reused buffer is the same document jsonBytes() writes")
    func writeJSONIntoReusedBuffer() throws {
        let pool = ResultBufferPool(count: 1, retainedCapacity: 1 << 20)
        var results: [StandardResult] = []
        for count in [40, 3] {
            var result = StandardResult(meta: ResultMeta(model: "Demo", pluginVersion: "1", checkpoint: "c", scoreThreshold: 0, sampleID: "s\(count)"))
            result.detections = (0..<count).map { index in
                Detection3D(
                    label: "car", labelIndex: 0, score: 1 / Double(index + 3), centerLidar: [Double(index) * 0.1, 2.5, -1],
                    sizeWlh: [1.5, 4.25, 1.75], yawLidar: 0.3, velocityLidar: [0.1, 0])
            }
            results.append(result)
        }
        for result in results {
            let body = try pool.render { (out) throws(PluginError) in try result.writeJSON(into: &out) }
            #expect(Self.readable(body) == (try result.jsonBytes()))
        }
    }
}

@Suite("Random request ids")
struct RandomIDTests {
    @Test("version 4 UUIDs in lowercase, different each time")
    func versionFourLowercase() throws {
        let ids = (0..<2000).map { _ in RandomID.uuid() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(200) {
            let parts = id.split(separator: "-")
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id == id.lowercased() && InferenceHeaders.isToken(id), "\(id)")
            #expect(parts[2].first == "4", "version nibble of \(id)")
            #expect(parts[3].first.map { "89ab".contains($0) } == true, "variant of \(id)")
            // The hand-written hex is Foundation's text for the same bytes, in lowercase.
            #expect(UUID(uuidString: id)?.uuidString.lowercased() == id, "\(id)")
        }
    }
}
