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
import Hummingbird
import HummingbirdCore
import Synchronization

/// How request bodies are received: within `api.max_body_mib`, at most `api.max_large_bodies` bodies
/// of 1 MiB or more at once (429 above), and large bodies decoded on threads of their own.
///
/// Decoding a 60 MiB base64 upload takes the better part of a second of CPU. On the cooperative pool
/// (two threads on a two-core pod) two of them would stall every other request, `/v2/health/live`
/// included, and Kubernetes would restart a healthy pod; so large bodies are parsed, decoded and
/// written on ``BlockingPool`` threads, and their number is capped so their memory is bounded too.
public struct BodyIntake: Sendable {
    /// Bodies from this size on count as large.
    public static let largeBytes = 1 << 20

    let limit: Int
    let gate: LargeBodyGate
    let pool: BlockingPool

    /// - Parameters:
    ///   - limit: the largest body, in bytes (413 above).
    ///   - maxLarge: how many large bodies may be received and handled at once (429 above).
    public init(limit: Int, maxLarge: Int, pool: BlockingPool) {
        self.limit = limit
        self.gate = LargeBodyGate(limit: maxLarge)
        self.pool = pool
    }

    /// A received body; ``finish()`` gives its large-body slot back (call it when the request is done).
    struct Body: Sendable {
        let buffer: ByteBuffer
        let contentType: String?
        let permit: LargeBodyGate.Permit?
        let pool: BlockingPool

        /// At least ``BodyIntake/largeBytes``: decoded off the cooperative pool.
        var isLarge: Bool { permit != nil }

        /// Runs `work` on the body's bytes: on a blocking-pool thread for a large body, inline otherwise.
        func decode<T: Sendable>(_ work: @escaping @Sendable (Data) throws(AgentError) -> T) async throws(AgentError) -> T {
            let buffer = buffer
            guard isLarge else { return try work(Data(buffer.readableBytesView)) }
            return try await pool.run { () throws(AgentError) -> T in try work(Data(buffer.readableBytesView)) }
        }

        /// Runs `work` (no body bytes) where ``decode(_:)`` would.
        func offload<T: Sendable>(_ work: @escaping @Sendable () throws(AgentError) -> T) async throws(AgentError) -> T {
            guard isLarge else { return try work() }
            return try await pool.run(work)
        }

        func finish() { permit?.release() }
    }

    /// The content codings podagent reads request bodies in (the 415's `Accept-Encoding`).
    static let acceptedEncodings = "identity"

    /// Reads the whole body, taking a large-body slot once it is (or announces to be) 1 MiB or more.
    /// - Throws: `.payloadTooLarge` (413) past the limit, `.overloaded` (429) when every large-body slot is taken,
    ///   `.unsupportedContentEncoding` (415) for a compressed body.
    func receive(_ request: Request) async throws(AgentError) -> Body {
        let tooLarge = AgentError(.payloadTooLarge, "the request body is larger than \(limit / (1024 * 1024)) MiB (api.max_body_mib)")
        var permit: LargeBodyGate.Permit?
        let announced = request.headers.value(.contentLength).flatMap(Int.init)
        if let announced, announced > limit { throw tooLarge }
        var buffer = ByteBuffer()
        var iterator = request.body.makeAsyncIterator()
        if let refusal = request.headers.value(.contentEncoding).flatMap(Self.refusal(contentEncoding:)) {
            await drain(&iterator)
            throw refusal
        }
        do {
            if let announced, announced >= Self.largeBytes {
                permit = try await enter(draining: &iterator)
            }
            while let chunk = try await iterator.next() {
                let size = buffer.readableBytes + chunk.readableBytes
                if size > limit { throw tooLarge }
                if permit == nil, size >= Self.largeBytes { permit = try await enter(draining: &iterator) }
                var chunk = chunk
                buffer.writeBuffer(&chunk)
            }
        } catch let error as AgentError {
            permit?.release()
            throw error
        } catch {
            permit?.release()
            throw AgentError(.invalidArgument, "cannot read the request body: \(error)")
        }
        return Body(buffer: buffer, contentType: request.headers.value(.contentType), permit: permit, pool: pool)
    }

    /// A large-body slot; when none is free, the rest of the body is read and dropped (up to the size
    /// limit) before the 429: a client still sending when the server closes would get a reset and
    /// lose the answer.
    private func enter(draining iterator: inout HummingbirdCore.RequestBody.AsyncIterator) async throws -> LargeBodyGate.Permit {
        do {
            return try gate.enter()
        } catch {
            await drain(&iterator)
            throw error
        }
    }

    /// Reads the rest of the body (up to the size limit) and drops it, before an error answer.
    private func drain(_ iterator: inout HummingbirdCore.RequestBody.AsyncIterator) async {
        var drained = 0
        while drained <= limit, let chunk = try? await iterator.next() { drained += chunk.readableBytes }
    }

    /// The 415 for a `Content-Encoding` other than identity (tritonclient's `request_compression_algorithm`
    /// sends gzip or deflate): read as plain, such a body would be a baffling JSON error. podagent links
    /// no compression library (zlib would grow the binary every pod carries), so it asks for plain bodies.
    static func refusal(contentEncoding value: String) -> AgentError? {
        let codings = value.split(separator: ",").map { $0.filter { $0 != " " && $0 != "\t" }.lowercased() }
        guard let coding = codings.first(where: { !$0.isEmpty && $0 != acceptedEncodings }) else { return nil }
        return AgentError(
            .unsupportedContentEncoding,
            "request body: Content-Encoding '\(coding.prefix(40))' is not supported: podagent reads request bodies uncompressed "
                + "(Accept-Encoding: \(acceptedEncodings); no Content-Encoding, or identity); send the body uncompressed "
                + "(tritonclient: leave request_compression_algorithm unset)")
    }
}

/// A counter of large bodies in progress, with a ceiling.
final class LargeBodyGate: Sendable {
    let limit: Int
    private let count = Mutex(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// One large body's slot; released once.
    final class Permit: Sendable {
        private let gate: LargeBodyGate
        private let released = Mutex(false)

        fileprivate init(gate: LargeBodyGate) { self.gate = gate }

        func release() {
            let first = released.withLock { released in
                defer { released = true }
                return !released
            }
            if first { gate.count.withLock { $0 -= 1 } }
        }

        deinit { release() }
    }

    /// Takes a slot, or throws 429 when all are taken.
    func enter() throws(AgentError) -> Permit {
        let taken = count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard taken else {
            throw AgentError(
                .overloaded, "\(limit) large request bodies (1 MiB or more) are already being handled (api.max_large_bodies); try again shortly",
                retryAfterSeconds: 1)
        }
        return Permit(gate: self)
    }

    /// Large bodies in progress now.
    var inUse: Int { count.withLock { $0 } }
}
