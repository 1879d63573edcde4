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
import Logging
import PodAgentExtras

/// Jobs on disk: one JSON file per job in one directory, each written whole (temp file, fsync, rename),
/// so a crash leaves either the old or the new state of a job, never half of one.
public struct JobStore: Sendable {
    public let directory: String
    let logger: Logger

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    public init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// Job ids are generated here (UUIDs); anything else is not a job, which also keeps ids out of other paths.
    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isHexDigit || $0 == "-") }
    }

    func path(_ id: String) -> String { "\(directory)/\(id).json" }

    /// Writes `record` whole.
    func save(_ record: JobRecord) throws(AgentError) {
        try AgentError.writing(AtomicFile.ensureDirectory(directory, mode: 0o700))
        let data: Data
        do { data = try Self.encoder.encode(record) } catch {
            throw AgentError(.internalError, "job \(record.id): cannot encode: \(Self.describe(error))")
        }
        try AgentError.writing(AtomicFile.write([UInt8](data), to: path(record.id), mode: 0o600))
    }

    func delete(_ id: String) {
        unlink(path(id))
    }

    /// Every readable job; unreadable or misnamed files are logged and left alone, leftover temp files
    /// removed. A damaged store never stops the agent: what cannot be read is skipped, never trusted.
    func loadAll() -> [JobRecord] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var records: [JobRecord] = []
        var seen: Set<String> = []
        for name in names.sorted() {
            if name.hasSuffix(".tmp") {
                unlink("\(directory)/\(name)")  // a write that did not finish
                continue
            }
            let stem = String(name.dropLast(5))
            guard name.hasSuffix(".json"), Self.isValidID(stem) else { continue }
            let file = "\(directory)/\(name)"
            let record: JobRecord
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                record = try Self.decoder.decode(JobRecord.self, from: data)
            } catch {
                logger.error("cannot read a stored job; skipping it", metadata: ["file": "\(file)", "error": "\(Self.describe(error))"])
                continue
            }
            // A copied or renamed file would give one job two records (or run it twice): its name must be its id.
            guard record.id == stem else {
                logger.error("a stored job's file is not named after its id; skipping it", metadata: ["file": "\(file)", "id": "\(record.id)"])
                continue
            }
            guard seen.insert(record.id).inserted else {
                logger.error("a job is stored twice; skipping the second record", metadata: ["file": "\(file)", "id": "\(record.id)"])
                continue
            }
            records.append(record)
        }
        return records
    }

    /// A short description of a decoding or encoding error: Foundation's own describes the whole coding
    /// path, which for a deeply nested document runs to kilobytes.
    static func describe(_ error: any Error) -> String {
        let context: String? = switch error {
        case DecodingError.dataCorrupted(let context), DecodingError.keyNotFound(_, let context),
             DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            context.debugDescription
        case EncodingError.invalidValue(_, let context):
            context.debugDescription
        default:
            nil
        }
        return String((context ?? "\(error)").prefix(300))
    }
}
