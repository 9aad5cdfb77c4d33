// JSONFields: reads one scalar field of a record's JSON bytes without building a tree.
import RelayCore

/// A dotted path into nested objects, e.g. `identifiers.email`, prepared for matching raw keys.
package struct JSONFieldPath: Sendable, Hashable, CustomStringConvertible {
    /// The member names, outermost first, as UTF-8.
    let segments: [[UInt8]]

    /// A path from its member names, outermost first.
    package init(segments: [String]) {
        self.segments = segments.map { Array($0.utf8) }
    }

    /// A path from dotted text: `profileId`, `identifiers.email`.
    package init(dotted: String) {
        self.init(segments: dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
    }

    package var description: String {
        segments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
    }
}

/// Fast lookups of scalar fields in a record's bytes, e.g. to render a Kafka key template
/// such as `{{profileId}}` or `{{identifiers.email}}` for every record.
package enum JSONFields {
    /// The scalar at `path` in the JSON object `record`: a string's decoded value, or the literal
    /// text of a number or boolean. Nil when the field is missing, null, an object or an array,
    /// or when the bytes are not well-formed around it. With a repeated key the first one counts.
    package static func scalarText(at path: JSONFieldPath, in record: [UInt8]) -> String? {
        record.withUnsafeBufferPointer { scalarText(at: path, in: $0) }
    }

    /// The scalar at `path` in the JSON object `record` (see ``scalarText(at:in:)-([UInt8])``).
    package static func scalarText(at path: JSONFieldPath, in record: UnsafeBufferPointer<UInt8>) -> String? {
        guard let base = record.baseAddress, !path.segments.isEmpty else { return nil }
        var reader = Reader(base: base, end: record.count)
        reader.skipSpace()
        for (level, segment) in path.segments.enumerated() {
            guard reader.findMember(segment) else { return nil }
            if level == path.segments.count - 1 { return reader.scalarText() }
        }
        return nil
    }

    /// A cursor over the bytes; every read is bounds-checked, malformed input ends in nil/false.
    private struct Reader {
        let base: UnsafePointer<UInt8>
        let end: Int
        var i = 0

        mutating func skipSpace() {
            while i < end, ASCII.isJSONSpace(base[i]) { i += 1 }
        }

        /// At an object's `{`: moves to the value of the first member named `name`.
        mutating func findMember(_ name: [UInt8]) -> Bool {
            guard i < end, base[i] == ASCII.openBrace else { return false }
            i += 1
            skipSpace()
            if i < end, base[i] == ASCII.closeBrace { return false }
            while true {
                guard i < end, base[i] == ASCII.quote, let keyEnd = stringEnd(from: i) else { return false }
                let matches = keyEquals(name, from: i + 1, to: keyEnd - 1)
                i = keyEnd
                skipSpace()
                guard i < end, base[i] == ASCII.colon else { return false }
                i += 1
                skipSpace()
                if matches { return true }
                guard skipValue() else { return false }
                skipSpace()
                guard i < end, base[i] == ASCII.comma else { return false }
                i += 1
                skipSpace()
            }
        }

        /// The scalar value at the cursor as text.
        func scalarText() -> String? {
            guard i < end else { return nil }
            switch base[i] {
            case ASCII.quote:
                guard let close = stringEnd(from: i) else { return nil }
                return JSONStringCodec.decode(base, from: i + 1, to: close - 1)
            case ASCII.openBrace, ASCII.openBracket, UInt8(ascii: "n"):
                return nil
            default:
                var stop = i
                while stop < end, !isDelimiter(base[stop]) { stop += 1 }
                return String(decoding: UnsafeBufferPointer(start: base + i, count: stop - i), as: UTF8.self)
            }
        }

        /// Index just after the closing quote of the string whose opening quote is at `from`.
        func stringEnd(from: Int) -> Int? {
            var j = from + 1
            while j < end {
                let byte = base[j]
                if byte == ASCII.quote { return j + 1 }
                j += byte == ASCII.backslash ? 2 : 1
            }
            return nil
        }

        func keyEquals(_ name: [UInt8], from: Int, to: Int) -> Bool {
            let raw = UnsafeBufferPointer(start: base + from, count: to - from)
            if !raw.contains(ASCII.backslash) { return raw.elementsEqual(name) }
            guard let decoded = JSONStringCodec.decode(base, from: from, to: to) else { return false }
            return decoded.utf8.elementsEqual(name)
        }

        /// Moves past the value at the cursor.
        mutating func skipValue() -> Bool {
            guard i < end else { return false }
            switch base[i] {
            case ASCII.quote:
                guard let close = stringEnd(from: i) else { return false }
                i = close
                return true
            case ASCII.openBrace, ASCII.openBracket:
                var depth = 0
                while i < end {
                    let byte = base[i]
                    if byte == ASCII.quote {
                        guard let close = stringEnd(from: i) else { return false }
                        i = close
                        continue
                    }
                    if byte == ASCII.openBrace || byte == ASCII.openBracket {
                        depth += 1
                    } else if byte == ASCII.closeBrace || byte == ASCII.closeBracket {
                        depth -= 1
                        if depth == 0 {
                            i += 1
                            return true
                        }
                    }
                    i += 1
                }
                return false
            default:
                while i < end, !isDelimiter(base[i]) { i += 1 }
                return true
            }
        }

        func isDelimiter(_ byte: UInt8) -> Bool {
            ASCII.isJSONSpace(byte) || byte == ASCII.comma || byte == ASCII.closeBrace || byte == ASCII.closeBracket
        }
    }
}
