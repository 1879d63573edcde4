/// Who submits an OpenLane-V2 result: the five header keys of the devkit's submission format
/// (OpenLane-V2 v1.0.0 docs/submission.md), checked as its `check_results` checks them and a little more.
///
/// The devkit's rules (openlanev2/preprocessing/check.py at v1.0.0): `method`, `e-mail`,
/// `institution / company` and `country / region` are strings (l.43-46), `country / region` is found by
/// iso3166's `countries.get` (l.47-51), `authors` is a list (l.56-59) of at most 10 (l.60-61); a missing
/// key makes the submission invalid (l.52-54, l.62-64). Ours also refuse unknown keys (a misspelt
/// `email` would otherwise leave `e-mail` missing), empty `method`, `e-mail` or `institution / company`,
/// an `e-mail` without a local part and a domain around one `@`, and authors that are not non-empty strings.
public struct OpenLaneSubmissionInfo: Sendable, Equatable {
    public var method: String
    public var email: String
    public var institution: String
    /// As given: a country name, alpha-2, alpha-3 or numeric code that the devkit's check accepts.
    public var country: String
    public var authors: [String]

    /// The devkit's limit on `authors` (check.py l.60).
    public static let maxAuthors = 10
    /// The keys in the order the devkit's docs list them.
    public static let keys = ["method", "authors", "e-mail", "institution / company", "country / region"]

    public init(method: String, email: String, institution: String, country: String, authors: [String]) throws(PluginError) {
        self.method = method
        self.email = email
        self.institution = institution
        self.country = country
        self.authors = authors
        try check(source: "submission info")
    }

    /// Reads and checks a JSON object with the five keys.
    /// - Parameter source: names the file or option in errors (`FILE`, `options.submission_info`).
    /// - Throws: ``PluginError`` `.invalidValue` (`.missingKey` for a missing key) naming `source` and the key.
    public static func read(_ value: JSONValue, source: String) throws(PluginError) -> OpenLaneSubmissionInfo {
        guard case .object(let members) = value else {
            throw PluginError(.invalidValue, "\(source): expected a JSON object with the keys \(keyList), got \(value.kind)")
        }
        var seen: Set<String> = []
        for (key, _) in members {
            guard keys.contains(key) else {
                throw PluginError(.invalidValue, "\(source): unknown key '\(key)' (the OpenLane-V2 submission's keys are \(keyList))")
            }
            guard seen.insert(key).inserted else { throw PluginError(.invalidValue, "\(source): key '\(key)' appears twice") }
        }
        func text(_ key: String) throws(PluginError) -> String {
            guard let item = value[key] else { throw PluginError(.missingKey, "\(source): key '\(key)' is missing") }
            guard let string = item.stringValue else {
                throw PluginError(.invalidValue, "\(source): key '\(key)': expected a string, got \(item.kind)")
            }
            return string
        }
        guard let authorsValue = value["authors"] else { throw PluginError(.missingKey, "\(source): key 'authors' is missing") }
        guard case .array(let items) = authorsValue else {
            throw PluginError(.invalidValue, "\(source): key 'authors': expected a list of names, got \(authorsValue.kind)")
        }
        var authors: [String] = []
        for (index, item) in items.enumerated() {
            guard let name = item.stringValue else {
                throw PluginError(.invalidValue, "\(source): key 'authors[\(index)]': expected a string, got \(item.kind)")
            }
            authors.append(name)
        }
        let info = OpenLaneSubmissionInfo(
            unchecked: try text("method"), email: try text("e-mail"), institution: try text("institution / company"),
            country: try text("country / region"), authors: authors)
        try info.check(source: source)
        return info
    }

    private init(unchecked method: String, email: String, institution: String, country: String, authors: [String]) {
        self.method = method
        self.email = email
        self.institution = institution
        self.country = country
        self.authors = authors
    }

    private static var keyList: String { keys.map { "'\($0)'" }.joined(separator: ", ") }

    private func check(source: String) throws(PluginError) {
        func nonEmpty(_ key: String, _ value: String) throws(PluginError) {
            guard !value.allSatisfy(\.isWhitespace) else { throw PluginError(.invalidValue, "\(source): key '\(key)' is empty") }
        }
        try nonEmpty("method", method)
        try nonEmpty("e-mail", email)
        try nonEmpty("institution / company", institution)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !email.contains(where: \.isWhitespace) else {
            throw PluginError(.invalidValue, "\(source): key 'e-mail': '\(email)' is not an e-mail address (name@domain)")
        }
        guard ISO3166.lookup(country) != nil else {
            throw PluginError(.invalidValue, """
                \(source): key 'country / region': '\(country)' is not an ISO 3166 country as the OpenLane-V2 devkit \
                checks it (iso3166's countries.get: a name such as 'Germany', or a code such as 'DE', 'DEU' or '276')
                """)
        }
        guard authors.count <= Self.maxAuthors else {
            throw PluginError(.invalidValue, "\(source): key 'authors': \(authors.count) authors, the OpenLane-V2 devkit allows at most \(Self.maxAuthors)")
        }
        for (index, name) in authors.enumerated() where name.allSatisfy(\.isWhitespace) {
            throw PluginError(.invalidValue, "\(source): key 'authors[\(index)]' is empty")
        }
    }

    /// The header members in the devkit docs' order.
    var members: [(String, JSONValue)] {
        [
            ("method", .string(method)), ("authors", .array(authors.map { .string($0) })), ("e-mail", .string(email)),
            ("institution / company", .string(institution)), ("country / region", .string(country)),
        ]
    }
}

extension ISO3166 {
    private static func index(_ field: KeyPath<Country, String>) -> [String: Country] {
        var map: [String: Country] = [:]
        for country in countries { map[country[keyPath: field].uppercased()] = country }
        return map
    }

    private static let byAlpha2 = index(\.alpha2)
    private static let byAlpha3 = index(\.alpha3)
    private static let byNumeric = index(\.numeric)
    private static let byName = index(\.name)
    private static let byApoliticalName = index(\.apoliticalName)

    /// The country `key` names, by the rule of iso3166's `countries.get` for a string: upper-cased, two
    /// characters is an alpha-2 code, three digits (not `000`) a numeric code, other three characters an
    /// alpha-3 code, anything else a name, then an apolitical name. Lengths count Unicode scalars, as Python does.
    static func lookup(_ key: String) -> Country? {
        let upper = key.uppercased()
        let length = upper.unicodeScalars.count
        if length == 2 { return byAlpha2[upper] }
        if length == 3 {
            if upper != "000", upper.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) { return byNumeric[upper] }
            return byAlpha3[upper]
        }
        return byName[upper] ?? byApoliticalName[upper]
    }
}
