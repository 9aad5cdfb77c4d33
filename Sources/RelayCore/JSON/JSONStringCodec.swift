// JSONStringCodec: decoding JSON string contents to Swift strings (escaping is JSONString).

package enum JSONStringCodec {
    /// The value of a hexadecimal digit, or nil.
    @inlinable
    package static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Decodes the contents of a JSON string (the bytes between the quotes), resolving escapes.
    /// A lone UTF-16 surrogate becomes U+FFFD, or with `refusingLoneSurrogates` makes the string
    /// invalid (as most JSON readers do). Nil when the contents are not a valid JSON string.
    package static func decode(_ base: UnsafePointer<UInt8>, from: Int, to: Int, refusingLoneSurrogates: Bool = false) -> String? {
        guard ByteSearch.firstIndex(of: UInt8(ascii: "\\"), in: base, from: from, to: to) != nil else {
            let span = UnsafeBufferPointer(start: base + from, count: to - from)
            if span.contains(where: { $0 < 0x20 }) || !UTF8Check.isValid(base, from: from, to: to) { return nil }
            return String(decoding: span, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(to - from)
        var i = from
        while i < to {
            let byte = base[i]
            if byte < 0x20 { return nil }
            if byte != UInt8(ascii: "\\") {
                out.append(byte)
                i += 1
                continue
            }
            guard i + 1 < to else { return nil }
            switch base[i + 1] {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "u"):
                guard let unit = hexUnit(base, at: i + 2, end: to) else { return nil }
                i += 6
                var scalar = unit
                if (0xD800..<0xDC00).contains(unit), i + 1 < to,
                   base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u"),
                   let low = hexUnit(base, at: i + 2, end: to), (0xDC00..<0xE000).contains(low) {
                    scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                guard let decoded = Unicode.Scalar(scalar) ?? (refusingLoneSurrogates ? nil : "\u{FFFD}") else { return nil }
                UTF8.encode(decoded) { out.append($0) }
                continue
            default:
                return nil
            }
            i += 2
        }
        return out.withUnsafeBufferPointer { UTF8Check.isValid($0) } ? String(decoding: out, as: UTF8.self) : nil
    }

    /// Four hex digits at `base[at..<at+4]` as a UTF-16 code unit.
    private static func hexUnit(_ base: UnsafePointer<UInt8>, at: Int, end: Int) -> UInt32? {
        guard at + 4 <= end else { return nil }
        var unit: UInt32 = 0
        for k in 0..<4 {
            guard let digit = hexValue(base[at + k]) else { return nil }
            unit = unit << 4 | digit
        }
        return unit
    }
}
