// RecordFormat: the four body layouts an export can have, and their names in configuration.

/// How records are laid out in an export body.
package enum RecordFormat: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// One JSON object per line (JSON Lines / NDJSON); blank lines are ignored.
    case jsonLines
    /// RFC 4180 CSV with a header row; each row becomes an object of string values.
    case csv
    /// One JSON array whose elements are the records.
    case jsonArray
    /// One JSON object whose top-level keys are profile ids and whose values are the records.
    case jsonObjectByKey

    /// Parses the name used in routing configuration: `jsonl` (or `ndjson`), `csv`,
    /// `json-array`, `json-object`. Nil for anything else.
    package init?(configName: String) {
        switch configName.lowercased() {
        case "jsonl", "ndjson": self = .jsonLines
        case "csv": self = .csv
        case "json-array": self = .jsonArray
        case "json-object": self = .jsonObjectByKey
        default: return nil
        }
    }

    /// The canonical configuration name (`jsonl`, `csv`, `json-array`, `json-object`).
    package var configName: String {
        switch self {
        case .jsonLines: return "jsonl"
        case .csv: return "csv"
        case .jsonArray: return "json-array"
        case .jsonObjectByKey: return "json-object"
        }
    }

    package var description: String { configName }
}
