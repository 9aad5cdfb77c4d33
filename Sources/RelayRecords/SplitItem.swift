// What the record splitters hand out: a record's bytes, or a note that one record was bad.

/// One record cut from an export body.
package struct RawRecord: Sendable, Hashable {
    /// The record as a JSON object: the source bytes verbatim for JSON formats (surrounding
    /// whitespace trimmed), a built object of string values for CSV.
    package var value: [UInt8]
    /// The top-level key the record was stored under (``RecordFormat/jsonObjectByKey`` only).
    package var key: String?
    /// 1-based line of the body where the record starts.
    package var line: Int

    package init(value: [UInt8], key: String? = nil, line: Int) {
        self.value = value
        self.key = key
        self.line = line
    }
}

/// One output of a ``RecordSplitter``.
package enum SplitItem: Sendable, Hashable {
    /// A well-formed record.
    case record(RawRecord)
    /// A record that was skipped (not valid JSON, not an object, ragged CSV row, too long);
    /// splitting carries on with the next record.
    case malformed(line: Int, reason: String)
}
