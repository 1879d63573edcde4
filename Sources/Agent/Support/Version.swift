/// podagent's version, reported by `podagent version`, `GET /v2` and `/health`.
public enum PodAgentVersion {
    public static let current = "0.1.0"
}
