import Foundation
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
            throw AgentError(.internalError, "job \(record.id): cannot encode: \(error)")
        }
        try AgentError.writing(AtomicFile.write(String(decoding: data, as: UTF8.self), to: path(record.id), mode: 0o600))
    }

    func delete(_ id: String) {
        unlink(path(id))
    }

    /// Every readable job; unreadable files are logged and left alone, leftover temp files removed.
    func loadAll() -> [JobRecord] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var records: [JobRecord] = []
        for name in names.sorted() {
            if name.hasSuffix(".tmp") {
                unlink("\(directory)/\(name)")  // a write that did not finish
                continue
            }
            guard name.hasSuffix(".json"), Self.isValidID(String(name.dropLast(5))) else { continue }
            let file = "\(directory)/\(name)"
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                records.append(try Self.decoder.decode(JobRecord.self, from: data))
            } catch {
                logger.error("cannot read a stored job; leaving it alone", metadata: ["file": "\(file)", "error": "\(error)"])
            }
        }
        return records
    }
}
