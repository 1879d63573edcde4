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
import Synchronization
import PodAgentExtras

/// Installs podagent's log handler: text lines or one JSON object per line, on stderr.
public enum LogSetup {
    /// Bootstraps swift-log once per process; later calls only return a logger.
    /// - Parameter file: also write every line, as JSON, to this file (see docs/gpu.md, "Diagnostics").
    public static func bootstrap(level: Logger.Level, format: AgentConfig.Log.Format, file: LogFile? = nil) -> Logger {
        Bootstrap.once.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                let console: any LogHandler
                switch format {
                case .text:
                    var handler = StreamLogHandler.standardError(label: label)
                    handler.logLevel = level
                    console = OneLineLogHandler(handler)
                case .json:
                    console = JSONLogHandler(label: label, logLevel: level)
                }
                guard let file else { return console }
                return MultiplexLogHandler([console, JSONLogHandler(label: label, logLevel: level, sink: { file.append($0) })])
            }
        }
        var logger = Logger(label: "podagent")
        logger.logLevel = level
        return logger
    }

    private enum Bootstrap {
        static let once = Mutex(false)
    }
}

/// One JSON object per line: time, level, label, message and metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    /// Where each encoded line (without its newline) goes; nil writes it to stderr.
    let sink: (@Sendable (Data) -> Void)?

    public init(label: String, logLevel: Logger.Level, sink: (@Sendable (Data) -> Void)? = nil) {
        self.label = label
        self.logLevel = logLevel
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: String] = [
            "time": Timestamp.withFraction(),
            "level": event.level.rawValue,
            "label": label,
            "message": "\(event.message)",
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(object) else { return }
        if let sink { return sink(data) }
        data.append(UInt8(ascii: "\n"))
        StandardStream.write(data, to: STDERR_FILENO)
    }
}

/// Keeps every text log entry on one line: control characters in the message and metadata (a client's
/// request id, a worker's error text) are written escaped (`\n`, `\u{1B}`), so no input can forge a
/// log line or send escapes to the terminal that shows the log.
struct OneLineLogHandler: LogHandler {
    private var inner: any LogHandler
    /// Kept as set and escaped only when a line is written: Hummingbird sets a request id on every
    /// request's logger, and escaping it eagerly (formatting the id first) cost more than the routing,
    /// for lines that at the usual levels are never written.
    private var stored: Logger.Metadata = [:]

    init(_ inner: any LogHandler) { self.inner = inner }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { stored }
        set { stored = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stored[key] }
        set { stored[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: Self.escape(event.message.description))
        // The handler's own metadata goes with the entry's (the entry's win), all escaped; the inner
        // handler keeps none of its own.
        let merged = stored.merging(event.metadata ?? [:]) { $1 }
        event.metadata = merged.isEmpty ? nil : merged.mapValues(Self.escape)
        inner.log(event: event)
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(escape(text))
        case .stringConvertible(let convertible): .string(escape(convertible.description))
        case .array(let items): .array(items.map(escape))
        case .dictionary(let entries): .dictionary(entries.mapValues(escape))
        }
    }

    /// `text` with C0 control characters (tab included) and DEL escaped; the rest unchanged.
    static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
    }
}
