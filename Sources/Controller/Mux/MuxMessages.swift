import Foundation
import SSHClient

/// What a podctl command asks of the mux (JSON in a request frame).
enum MuxRequest: Codable, Sendable {
    case exec(MuxExecRequest)
    case push(MuxTransferRequest)
    case pull(MuxTransferRequest)
    case forward(MuxForwardRequest)
    case status
    case stop
}

/// Requests carry the protocol version: a mux started by an older or newer podctl says so instead of
/// misreading the request.
struct MuxEnvelope: Codable, Sendable {
    static let currentVersion = 1
    var version: Int
    var request: MuxRequest
}

struct MuxExecRequest: Codable, Sendable {
    var pods: [Pod]
    var settings: ConnectionSettings
    var command: String
    var timeout: Double?
    var fanout: Int
    /// Seconds a session may stay idle after this command (`--persist`).
    var idle: Double
}

struct MuxTransferRequest: Codable, Sendable {
    var pods: [Pod]
    var settings: ConnectionSettings
    var fanout: Int
    var idle: Double
    /// Absolute paths (the mux runs in another directory): push's local file, or pull's local directory.
    var local: String
    var remote: String
}

struct MuxForwardRequest: Codable, Sendable {
    var pod: Pod
    var settings: ConnectionSettings
    var idle: Double
    var remoteHost: String
    var remotePort: Int
}

/// `podctl mux status`: the mux and its sessions.
public struct MuxStatus: Codable, Sendable {
    public var pid: Int32
    public var socket: String
    public var uptimeSeconds: Double
    public var sessions: [MuxSessionStatus]
}

/// One kept session.
public struct MuxSessionStatus: Codable, Sendable {
    /// The inventory names that used it (one, unless two entries point at the same host, port, user and key).
    public var pods: [String]
    /// `user@host:port`.
    public var target: String
    /// `connecting`, `open`, or `closing`.
    public var state: String
    public var ageSeconds: Double
    public var idleSeconds: Double
    public var idleLimitSeconds: Double
    public var channels: Int
    /// Connections made for it (1, or more after a reconnect).
    public var connects: Int
}

/// One message on the control socket: `[u32 length][u8 type][payload]`, JSON payloads except output.
enum MuxFrame: Sendable {
    case request(MuxEnvelope)
    /// The mux has read the request and will act on it (before this, a client may safely retry elsewhere).
    case accepted
    case output(index: Int, stream: SSHClient.OutputStream, bytes: [UInt8])
    case podResult(index: Int, result: PodResult)
    case transferResult(index: Int, result: TransferResult)
    case status(MuxStatus)
    /// A forward's session is up: descriptors may follow.
    case ready
    case done
    case failure(String)

    private struct Indexed<Value: Codable>: Codable {
        var index: Int
        var value: Value
    }

    func encoded() -> [UInt8] {
        var body: [UInt8]
        let encoder = JSONEncoder()
        func json(_ type: UInt8, _ value: some Encodable) -> [UInt8] {
            // Encoding our own plain structs cannot fail; an empty payload would be refused by the reader.
            [type] + ((try? encoder.encode(value)).map { Array($0) } ?? [])
        }
        switch self {
        case .request(let envelope): body = json(1, envelope)
        case .accepted: body = [2]
        case .output(let index, let stream, let bytes):
            body = [3, UInt8(index >> 24 & 0xFF), UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF),
                    stream == .stderr ? 1 : 0] + bytes
        case .podResult(let index, let result): body = json(4, Indexed(index: index, value: result))
        case .transferResult(let index, let result): body = json(5, Indexed(index: index, value: result))
        case .status(let status): body = json(6, status)
        case .ready: body = [7]
        case .done: body = [8]
        case .failure(let message): body = json(9, message)
        }
        let length = body.count
        return [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body
    }

    static func decode(_ body: [UInt8]) throws(ControllerError) -> MuxFrame {
        let payload = Data(body.dropFirst())
        let decoder = JSONDecoder()
        func json<T: Decodable>(_ type: T.Type) throws(ControllerError) -> T {
            do { return try decoder.decode(T.self, from: payload) } catch {
                throw ControllerError(.mux, "the mux sent a message podctl cannot read (\(T.self)): \(error)")
            }
        }
        switch body.first {
        case 1: return .request(try json(MuxEnvelope.self))
        case 2: return .accepted
        case 3:
            guard body.count >= 6 else { throw ControllerError(.mux, "the mux sent a short output frame") }
            let index = body[1...4].reduce(0) { $0 << 8 | Int($1) }
            return .output(index: index, stream: body[5] == 1 ? .stderr : .stdout, bytes: Array(body[6...]))
        case 4:
            let value = try json(Indexed<PodResult>.self)
            return .podResult(index: value.index, result: value.value)
        case 5:
            let value = try json(Indexed<TransferResult>.self)
            return .transferResult(index: value.index, result: value.value)
        case 6: return .status(try json(MuxStatus.self))
        case 7: return .ready
        case 8: return .done
        case 9: return .failure(try json(String.self))
        default: throw ControllerError(.mux, "the mux sent a message of unknown type \(body.first ?? 0)")
        }
    }
}
