#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Plugins
import PodAgentExtras

/// Reads a worker's protocol stream (docs/worker-protocol.md): one JSON object per line, and after a
/// line that declares tensor frames, the frames' bytes, read straight into typed buffers and put in
/// the answer's `raw` where the line holds their null placeholders.
///
/// Everything is bounded by `limit` (one answer: its line plus its frames): a longer line, or frame
/// headers declaring more, is a protocol violation before anything that size is allocated. After a
/// violation that loses the stream's framing (a bad header, a truncated frame), the rest of the output
/// is read and dropped, so the worker never blocks on a full pipe before it is ended.
struct WorkerOutputReader {
    /// What the stream said.
    enum Item: Sendable {
        /// A protocol message; `framed` when tensor frames came with it.
        case message(JSONValue, framed: Bool)
        /// Something that is not the protocol, with what is wrong.
        case violation(String)
    }

    private let fd: Int32
    private let limit: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
        self.buffer = [UInt8](repeating: 0, count: 1 << 16)
    }

    /// Reads the stream on a thread of its own until EOF, calling `item` for each message or
    /// violation, then `done`.
    static func start(
        _ handle: DescriptorHandle, limit: Int, item: @escaping @Sendable (Item) -> Void, done: @escaping @Sendable () -> Void = {}
    ) {
        let fd = handle.fileDescriptor
        NativeThread.start(name: "podagent-worker-out") {
            var reader = WorkerOutputReader(fd: fd, limit: limit)
            reader.run(item)
            done()
        }
    }

    private mutating func run(_ item: (Item) -> Void) {
        while true {
            let line: [UInt8]
            do throws(PluginError) {
                guard let next = try nextLine() else { return }
                line = Array(next)  // a copy: the buffer is reused for what follows
            } catch {
                item(.violation(error.message))
                drain()
                return
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let message = try? JSONReader.parse(line, source: "answer"), case .object = message else {
                item(.violation("not a protocol line: \(String(decoding: line.prefix(200), as: UTF8.self))"))
                continue
            }
            guard let declared = message["frames"] else {
                item(.message(message, framed: false))
                continue
            }
            do throws(PluginError) {
                let frames = try TensorFrame.headers(declared, limit: limit - line.count)
                var tensors: [(frame: TensorFrame, tensor: Tensor)] = []
                tensors.reserveCapacity(frames.count)
                for (number, frame) in frames.enumerated() {
                    do throws(PluginError) {
                        tensors.append((frame, try Tensor.read(frame, from: &self)))
                    } catch {
                        throw PluginError(.malformedFrame, "frame \(number) (\(frame.place), \(frame.dtype.rawValue) \(frame.shape)): \(error.message)")
                    }
                }
                // The frames were read whole: the stream is still in step, whatever placing them says.
                do throws(PluginError) {
                    item(.message(try Self.assemble(message, tensors), framed: true))
                } catch {
                    item(.violation(error.message))
                }
            } catch {
                item(.violation(error.message))
                drain()
                return
            }
        }
    }

    /// The message with its tensors in `raw` and without the consumed `frames` headers.
    static func assemble(_ message: JSONValue, _ tensors: [(frame: TensorFrame, tensor: Tensor)]) throws(PluginError) -> JSONValue {
        guard case .object(var members) = message else { return message }
        members.removeAll { $0.0 == "frames" }
        guard let index = members.firstIndex(where: { $0.0 == "raw" }) else {
            if tensors.isEmpty { return .object(members) }
            throw PluginError(.malformedFrame, "the answer declares \(tensors.count) frame(s) but has no 'raw' to put them in")
        }
        members[index].1 = try members[index].1.placing(tensors)
        return .object(members)
    }

    /// The next line without its newline; the unterminated rest at EOF is a line too; nil at EOF.
    private mutating func nextLine() throws(PluginError) -> ArraySlice<UInt8>? {
        if buffer.count > 1 << 22, end - start < 1 << 16 {
            // A big JSON answer grew the buffer: give the memory back once it is read.
            buffer = Array(buffer[start..<end]) + [UInt8](repeating: 0, count: (1 << 16) - (end - start))
            end -= start
            start = 0
        }
        var scanned = start
        while true {
            let found: Int? = buffer.withUnsafeBytes { bytes in
                guard scanned < end, let base = bytes.baseAddress,
                      let hit = memchr(base + scanned, 0x0A, end - scanned) else { return nil }
                return base.distance(to: UnsafeRawPointer(hit))
            }
            if let newline = found {
                let line = buffer[start..<newline]
                start = newline + 1
                return line
            }
            scanned = end
            guard end - start <= limit else {
                throw PluginError(.malformedFrame, "a line of more than \(limit) bytes (the limit of one answer) without a newline")
            }
            if end == buffer.count { makeRoom(&scanned) }
            let count = readSome()
            if count == 0 {
                guard start < end else { return nil }
                let rest = buffer[start..<end]
                start = end
                return rest
            }
            end += count
        }
    }

    /// Moves the unread bytes to the front, or grows the buffer when they fill it.
    private mutating func makeRoom(_ scanned: inout Int) {
        if start > 0 {
            buffer.withUnsafeMutableBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                memmove(base, base + start, end - start)
            }
            scanned -= start
            end -= start
            start = 0
        } else {
            buffer += [UInt8](repeating: 0, count: min(buffer.count, limit + 1))
        }
    }

    /// One read into the buffer's free space; 0 at EOF (a read error counts as EOF).
    private mutating func readSome() -> Int {
        let from = end
        return buffer.withUnsafeMutableBytes { bytes in
            guard let base = bytes.baseAddress else { return 0 }
            while true {
                let count = read(fd, base + from, bytes.count - from)
                if count >= 0 { return count }
                if errno != EINTR { return 0 }
            }
        }
    }

    /// Reads and drops the rest of the output.
    private mutating func drain() {
        start = 0
        end = 0
        while readSome() > 0 {}
    }
}

extension WorkerOutputReader: TensorByteSource {
    /// The buffered bytes first, then reads straight into `destination` until it is full.
    mutating func fill(_ destination: UnsafeMutableRawBufferPointer) throws(PluginError) {
        guard let target = destination.baseAddress else { return }
        let buffered = min(end - start, destination.count)
        if buffered > 0 {
            buffer.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                target.copyMemory(from: base + start, byteCount: buffered)
            }
            start += buffered
        }
        var filled = buffered
        while filled < destination.count {
            let count = read(fd, target + filled, destination.count - filled)
            if count > 0 { filled += count; continue }
            if count < 0, errno == EINTR { continue }
            throw PluginError(.malformedFrame, "the output ended after \(filled) of its \(destination.count) bytes")
        }
        if start == end { start = 0; end = 0 }
    }
}
