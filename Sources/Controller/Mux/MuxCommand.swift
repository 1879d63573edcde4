import Foundation

/// `podctl mux status` and `podctl mux stop`.
public enum MuxCommand {
    /// The running mux's state, nil when none runs.
    public static func status(directory: MuxDirectory) throws(ControllerError) -> MuxStatus? {
        try MuxClient.status(directory: directory)
    }

    /// Stops the running mux; false when none ran.
    public static func stop(directory: MuxDirectory) throws(ControllerError) -> Bool {
        try MuxClient.stop(directory: directory)
    }

    /// Runs the mux in this process (`podctl mux serve`); returns its exit status.
    public static func serve(directory: MuxDirectory) -> Int32 {
        MuxServer.serve(directory: directory)
    }

    /// The status as a table: a header line, then one row per kept session.
    public static func table(_ status: MuxStatus) -> String {
        var text = "mux pid \(status.pid), up \(duration(status.uptimeSeconds)), \(status.sessions.count) session(s), socket \(status.socket)\n"
        guard !status.sessions.isEmpty else { return text }
        let header = ["POD", "TARGET", "STATE", "AGE", "IDLE", "IDLE LIMIT", "CHANNELS", "CONNECTS"]
        let rows = [header] + status.sessions.map {
            [$0.pods.joined(separator: ","), $0.target, $0.state, duration($0.ageSeconds), duration($0.idleSeconds),
             duration($0.idleLimitSeconds), String($0.channels), String($0.connects)]
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            text += row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        return text
    }

    /// `4s`, `3m12s`, `2h05m`.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.down))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(String(format: "%02d", whole % 60))s" }
        return "\(whole / 3600)h\(String(format: "%02d", whole % 3600 / 60))m"
    }
}
