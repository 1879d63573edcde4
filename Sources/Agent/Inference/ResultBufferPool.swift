import NIOCore
import Synchronization

/// Reused memory for rendering results into response bodies.
///
/// A VAD-sized standard result is ~225 KiB, and every request used to allocate it twice (the writer's
/// bytes, then the response's `ByteBuffer`): allocations that size sit at the top of glibc's heap, are
/// trimmed when freed and mapped again by the next request, so a fifth of the render went to page
/// faults. The pool keeps a few render buffers and response buffers and hands them out again.
///
/// A response buffer handed out is still referenced by the pool. Taking it again clears it, and
/// `ByteBuffer`'s copy-on-write gives the clear fresh storage when the earlier response still holds
/// the old one (not yet written to its socket): one answer's bytes can never reach another.
/// Buffers above `retainedCapacity` are used once and not kept, so a rare huge result (a dense
/// OpenLane-V2 topology) does not stay resident.
final class ResultBufferPool: Sendable {
    private struct Slots {
        var scratch: [[UInt8]] = []
        var responses: [ByteBuffer] = []
    }

    private let slots = Mutex(Slots())
    /// How many of each kind are kept (about the requests rendered at the same time).
    let count: Int
    /// The largest capacity kept, in bytes.
    let retainedCapacity: Int

    init(count: Int = 2, retainedCapacity: Int = 1 << 20) {
        self.count = count
        self.retainedCapacity = retainedCapacity
    }

    /// The bytes `write` appends to an empty buffer, in a response buffer.
    /// - Parameter write: appends the body; when it throws nothing is returned and the buffer is reused.
    func render<Failure: Error>(_ write: (inout [UInt8]) throws(Failure) -> Void) throws(Failure) -> ByteBuffer {
        var scratch = slots.withLock { $0.scratch.popLast() } ?? []
        scratch.removeAll(keepingCapacity: true)
        defer {
            if scratch.capacity <= retainedCapacity {
                let kept = scratch
                slots.withLock { if $0.scratch.count < count { $0.scratch.append(kept) } }
            }
        }
        try write(&scratch)
        return response(copying: scratch)
    }

    /// `bytes` in a response buffer, reusing the oldest kept one.
    func response(copying bytes: [UInt8]) -> ByteBuffer {
        guard bytes.count <= retainedCapacity else { return ByteBuffer(bytes: bytes) }
        // The oldest first: the most likely to be written out (uniquely held by the pool) by now.
        var buffer = slots.withLock { $0.responses.isEmpty ? nil : $0.responses.removeFirst() } ?? ByteBuffer()
        buffer.clear(minimumCapacity: bytes.count)
        buffer.writeBytes(bytes)
        if buffer.capacity <= retainedCapacity {
            let kept = buffer
            slots.withLock { if $0.responses.count < count { $0.responses.append(kept) } }
        }
        return buffer
    }
}
