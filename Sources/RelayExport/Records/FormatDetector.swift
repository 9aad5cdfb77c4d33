// FormatDetector: guesses an export's record format from its Content-Type, file name and first bytes.

/// Picks a ``RecordFormat`` when a route does not name one. Checked in order:
/// 1. the Content-Type (`application/x-ndjson`, `application/jsonl`, `application/json-seq`,
///    `text/csv`, ...; `application/json` only says "some JSON", settled by the first bytes);
/// 2. the file name's extension (`.jsonl`, `.ndjson`, `.csv`, `.json`), after dropping `.gz`;
/// 3. the first bytes (decompressed, byte order mark skipped), see ``sniff(_:)``.
/// Nil when nothing matches. A route's explicit format overrides all of this.
public enum FormatDetector {
    /// How many leading body bytes are worth passing to ``detect(contentType:fileName:firstBytes:)``.
    public static let sniffLength = 64 * 1024

    /// The format of an export, or nil when it cannot be told. `firstBytes` are the start of the
    /// decompressed body (up to ``sniffLength`` bytes; fewer only when the body is shorter).
    public static func detect(contentType: String?, fileName: String?, firstBytes: [UInt8]) -> RecordFormat? {
        var sawJSONType = false
        if let contentType {
            switch mediaType(contentType) {
            case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonl",
                 "application/jsonlines", "application/x-jsonlines", "application/json-seq", "text/jsonl":
                return .jsonLines
            case "text/csv", "application/csv", "text/comma-separated-values":
                return .csv
            case "application/json", "text/json":
                sawJSONType = true
            default:
                break
            }
        }
        if let fileName {
            switch fileExtension(fileName) {
            case "jsonl", "ndjson", "jsonlines": return .jsonLines
            case "csv": return .csv
            case "json": sawJSONType = true
            default: break
            }
        }
        let sniffed = sniff(firstBytes)
        if sawJSONType, sniffed == .csv { return nil }
        return sniffed
    }

    /// Guesses the format from the first bytes alone (byte order mark and whitespace skipped):
    /// - `[` → JSON array;
    /// - `{` → JSON Lines when the first line is a complete JSON object and the next non-blank
    ///   line starts with `{`; otherwise a JSON object by key when the first member's value is
    ///   an object (`{"id": {`); otherwise JSON Lines (a one-record file or very long lines);
    /// - anything else → CSV when the first line contains a comma.
    public static func sniff(_ firstBytes: [UInt8]) -> RecordFormat? {
        firstBytes.withUnsafeBufferPointer { buffer -> RecordFormat? in
            guard let base = buffer.baseAddress else { return nil }
            let end = buffer.count
            var i = 0
            if end >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { i = 3 }
            while i < end, ASCII.isJSONSpace(base[i]) { i += 1 }
            guard i < end else { return nil }
            let lineEnd = ByteSearch.firstIndex(of: ASCII.newline, in: base, from: i, to: end)
            switch base[i] {
            case ASCII.openBracket:
                return .jsonArray
            case ASCII.openBrace:
                if let lineEnd, isObjectLine(base, from: i, to: lineEnd) {
                    var next = lineEnd + 1
                    while next < end, ASCII.isJSONSpace(base[next]) { next += 1 }
                    if next < end, base[next] == ASCII.openBrace { return .jsonLines }
                }
                return firstValueIsObject(base, from: i, end: end) ? .jsonObjectByKey : .jsonLines
            default:
                let stop = lineEnd ?? end
                return ByteSearch.firstIndex(of: ASCII.comma, in: base, from: i, to: stop) != nil ? .csv : nil
            }
        }
    }

    /// True when `base[from..<to]` is exactly one JSON object (with optional trailing CR).
    private static func isObjectLine(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Bool {
        let line = UnsafeBufferPointer(start: base + from, count: to - from)
        return (try? JSONValidator.validate(line)) == .object
    }

    /// True when the object at `base[from]` starts `{ "key" : {`.
    private static func firstValueIsObject(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Bool {
        var i = from + 1
        while i < end, ASCII.isJSONSpace(base[i]) { i += 1 }
        guard i < end, base[i] == ASCII.quote else { return false }
        i += 1
        while i < end, base[i] != ASCII.quote {
            i += base[i] == ASCII.backslash ? 2 : 1
        }
        i += 1
        while i < end, ASCII.isJSONSpace(base[i]) { i += 1 }
        guard i < end, base[i] == ASCII.colon else { return false }
        i += 1
        while i < end, ASCII.isJSONSpace(base[i]) { i += 1 }
        return i < end && base[i] == ASCII.openBrace
    }

    /// `type/subtype` of a Content-Type value, lowercased, parameters dropped.
    static func mediaType(_ contentType: String) -> String {
        let bare = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return bare.trimmingASCIISpaces().lowercased()
    }

    /// The lowercased extension of a file name or URL path, ignoring a query, a fragment and a
    /// trailing `.gz` / `.gzip`; "" when there is none.
    static func fileExtension(_ fileName: String) -> String {
        var name = Substring(fileName.lowercased())
        if let cut = name.firstIndex(where: { $0 == "?" || $0 == "#" }) { name = name[..<cut] }
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        for suffix in [".gz", ".gzip"] where name.hasSuffix(suffix) {
            name = name.dropLast(suffix.count)
            break
        }
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return String(name[name.index(after: dot)...])
    }
}

private extension Substring {
    /// The substring without leading and trailing spaces and tabs.
    func trimmingASCIISpaces() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
