/// `GET /v2/health/live`: `{"live": true}` while the process serves.
public struct LiveAnswer: Sendable, Codable, Equatable {
    public var live: Bool

    public init(live: Bool) { self.live = live }
}

/// `GET /v2/health/ready`: 200 `{"ready": true}`, or 503 with one `part: why` reason per part that is not ready.
public struct ReadyAnswer: Sendable, Codable, Equatable {
    public var ready: Bool
    /// Absent when ready.
    public var reasons: [String]?

    public init(ready: Bool, reasons: [String]? = nil) {
        self.ready = ready
        self.reasons = reasons
    }
}

/// Every error answer's body: `{"error": "..."}`.
public struct ErrorBody: Sendable, Codable, Equatable {
    public var error: String

    public init(error: String) { self.error = error }
}
