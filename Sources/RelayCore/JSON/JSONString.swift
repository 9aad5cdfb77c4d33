// JSON string escaping: the one quoter for every JSON the relay writes (envelopes, problems, logs, export records).

/// Where ``JSONString/appendQuoted(_:from:to:to:)`` writes: a byte array, or the export's `ByteBuffer`.
package protocol JSONOutput {
    /// Makes room for `extra` more bytes (a hint; may do nothing).
    mutating func reserve(_ extra: Int)
    mutating func append(_ byte: UInt8)
    mutating func append(_ source: UnsafePointer<UInt8>, count: Int)
}

extension Array: JSONOutput where Element == UInt8 {
    /// Does nothing: `reserveCapacity` grows to the exact size asked, which made repeated small
    /// appends quadratic; `append` grows geometrically on its own.
    @inlinable
    package mutating func reserve(_ extra: Int) {}

    @inlinable
    package mutating func append(_ source: UnsafePointer<UInt8>, count: Int) {
        append(contentsOf: UnsafeBufferPointer(start: source, count: count))
    }
}

/// Writes JSON string literals (RFC 8259 §7): `"` and `\` escaped, control characters as `\n`,
/// `\r`, `\t`, `\b`, `\f` or `\u00XX`, everything else (U+2028/U+2029 and DEL included) as it is.
/// Eight bytes at a time through the runs that need no escaping; bytes are checked to be UTF-8.
package enum JSONString {
    /// Appends `base[from..<to]` to `out` as a quoted JSON string. Returns false (leaving `out`
    /// partly written) when the bytes are not well-formed UTF-8.
    @inlinable
    package static func appendQuoted<Output: JSONOutput>(_ base: UnsafePointer<UInt8>, from: Int, to: Int,
                                                         to out: inout Output) -> Bool {
        out.reserve(to - from + 2)
        out.append(0x22)
        var runStart = from
        var i = from
        while i < to {
            if i + 8 <= to {
                let special = WordScan.jsonStringSpecials(WordScan.load(base, at: i))
                if special == 0 {
                    i += 8
                    continue
                }
                i += WordScan.firstIndex(special)
            }
            let byte = base[i]
            if byte >= 0x20, byte != 0x22, byte != 0x5C, byte < 0x80 {
                i += 1
                continue
            }
            if byte >= 0x80 {
                guard let length = UTF8Check.sequenceLength(base, at: i, end: to) else { return false }
                i += length
                continue
            }
            out.append(base + runStart, count: i - runStart)
            appendEscape(byte, to: &out)
            i += 1
            runStart = i
        }
        out.append(base + runStart, count: to - runStart)
        out.append(0x22)
        return true
    }

    /// Appends `text` as a quoted JSON string.
    package static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else {
                out.append(0x22)
                out.append(0x22)
                return
            }
            // A String is always well-formed UTF-8.
            _ = appendQuoted(base, from: 0, to: buffer.count, to: &out)
        }
    }

    /// `text` as a quoted JSON string.
    package static func quotedBytes(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return out
    }

    /// `text` as a quoted JSON string, for messages.
    package static func quoted(_ text: String) -> String {
        String(decoding: quotedBytes(text), as: UTF8.self)
    }

    /// The escape for `byte` (a quote, a backslash or a control character).
    @inlinable
    static func appendEscape<Output: JSONOutput>(_ byte: UInt8, to out: inout Output) {
        out.append(0x5C)
        switch byte {
        case 0x22: out.append(0x22)
        case 0x5C: out.append(0x5C)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        default:
            let low = byte & 0x0F
            out.append(UInt8(ascii: "u"))
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "0") + byte >> 4)
            out.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
        }
    }
}
