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
import PodAgentExtras
import Synchronization

/// One failed attempt of a request, as the engine saw it.
public struct FailureRecord: Sendable, Codable, Equatable {
    public var time: String
    public var model: String
    public var request_id: String
    public var attempt: Int
    /// The failure's kind (crash, timeout, worker_error, ...), as the engine names it.
    public var kind: String
    public var message: String
    public var traceback: String?
}

/// The last failures, kept in `<state_dir>/failures.jsonl` for `podagent diagnose`.
///
/// Each record rewrites the whole file through a temporary file, fsync and rename, so a crash leaves
/// either the old list or the new one; a damaged line (a file edited by hand) is skipped when read.
public final class FailureLog: Sendable {
    public static let fileName = "failures.jsonl"
    /// Longest traceback kept, in characters (its end is kept: that is where the error is).
    static let tracebackLimit = 16_384
    static let messageLimit = 4_096

    public let path: String
    private let limit: Int
    private let records: Mutex<[FailureRecord]>

    /// Loads what an earlier run left in `stateDir`.
    /// - Parameter limit: how many records to keep (the newest).
    public init(stateDir: String, limit: Int = 200) {
        path = stateDir + "/" + Self.fileName
        self.limit = max(1, limit)
        records = Mutex(Array(Self.read(path: stateDir + "/" + Self.fileName).suffix(max(1, limit))))
    }

    /// The kept records, oldest first.
    public var recent: [FailureRecord] { records.withLock { $0 } }

    /// Records one failure and persists the list.
    /// - Throws: ``AgentError`` `.system` when the file cannot be written (the record is still kept in memory).
    public func record(model: String, requestID: String, attempt: Int, kind: String, message: String, traceback: String?) throws(AgentError) {
        let record = FailureRecord(
            time: Timestamp.withFraction(),
            model: model, request_id: requestID, attempt: attempt, kind: kind, message: String(message.prefix(Self.messageLimit)),
            traceback: traceback.map { String($0.suffix(Self.tracebackLimit)) })
        let limit = self.limit
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The write happens under the lock so two records never race on the file.
        try records.withLock { (records: inout [FailureRecord]) throws(AgentError) in
            records.append(record)
            if records.count > limit { records.removeFirst(records.count - limit) }
            let lines = records.compactMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) }
            try AgentError.writing(AtomicFile.write(lines.map { $0 + "\n" }.joined(), to: path, mode: 0o600))
        }
    }

    static func read(path: String) -> [FailureRecord] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(FailureRecord.self, from: Data($0.utf8)) }
    }
}
