// FormatDetector: guesses an export's record format from its Content-Type, file name and first bytes.
import RelayCore

/// Picks a ``RecordFormat`` when a route does not name one. Checked in order:
/// 1. the Content-Type (`application/x-ndjson`, `application/jsonl`, `application/json-seq`,
///    `text/csv`, ...; `application/json` only says "some JSON", settled by the first bytes);
/// 2. the file name's extension (`.jsonl`, `.ndjson`, `.csv`, `.json`), after dropping `.gz`;
/// 3. the first bytes (decompressed, byte order mark skipped), see ``sniff(_:)``.
/// Nil when nothing matches. A route's explicit format overrides all of this.
package enum FormatDetector {
    /// How many leading body bytes are worth passing to ``detect(contentType:fileName:firstBytes:)``.
    package static let sniffLength = 64 * 1024

    /// The format of an export, or nil when it cannot be told. `firstBytes` are the start of the
    /// decompressed body (up to ``sniffLength`` bytes; fewer only when the body is shorter).
    package static func detect(contentType: String?, fileName: String?, firstBytes: [UInt8]) -> RecordFormat? {
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
    /// - `{` → decided by the whole first value: JSON Lines when another value follows it;
    ///   otherwise a JSON object by key when every member's value is an object (`{"p-1": {…},
    ///   "p-2": {…}}`, and `{}`, an empty keyed export); otherwise JSON Lines (one record). When
    ///   the first value runs past `firstBytes`, by the members seen: keyed when each is an object;
    /// - anything else → CSV when the first line contains a comma.
    package static func sniff(_ firstBytes: [UInt8]) -> RecordFormat? {
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
                return isKeyedObject(base, from: i, end: end) ? .jsonObjectByKey : .jsonLines
            default:
                let stop = lineEnd ?? end
                return ByteSearch.firstIndex(of: ASCII.comma, in: base, from: i, to: stop) != nil ? .csv : nil
            }
        }
    }

    /// True when the object at `base[from]` is the body's only value and every member's value is
    /// an object; when it runs past `end`, when every member value begun before `end` is an object.
    private static func isKeyedObject(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Bool {
        var i = from + 1
        var line = 1
        func skipSpace() { while i < end, ASCII.isJSONSpace(base[i]) { i += 1 } }
        skipSpace()
        if i < end, base[i] == ASCII.closeBrace {
            i += 1
            return onlyValue(base, from: i, end: end)
        }
        var membersSeen = 0
        while true {
            skipSpace()
            guard i < end else { return membersSeen > 0 }
            guard base[i] == ASCII.quote else { return false }
            i += 1
            while i < end, base[i] != ASCII.quote { i += base[i] == ASCII.backslash ? 2 : 1 }
            i += 1
            skipSpace()
            guard i < end else { return membersSeen > 0 }
            guard base[i] == ASCII.colon else { return false }
            i += 1
            skipSpace()
            guard i < end else { return membersSeen > 0 }
            guard base[i] == ASCII.openBrace else { return false }
            membersSeen += 1
            var scanner = JSONValueScanner()
            guard let valueEnd = try? scanner.scan(base, from: i, end: end, line: &line) else {
                // Past the sniffed bytes (or broken, which the splitter reports): the members so far decide.
                return true
            }
            i = valueEnd
            skipSpace()
            guard i < end else { return true }
            switch base[i] {
            case ASCII.comma: i += 1
            case ASCII.closeBrace: return onlyValue(base, from: i + 1, end: end)
            default: return false
            }
        }
    }

    /// True when nothing but whitespace follows `base[from]`: a second value means JSON Lines.
    private static func onlyValue(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Bool {
        var i = from
        while i < end, ASCII.isJSONSpace(base[i]) { i += 1 }
        return i == end
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
