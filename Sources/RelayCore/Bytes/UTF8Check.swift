// UTF8Check: validating UTF-8 in place, with an 8-bytes-at-a-time path for ASCII runs.

package enum UTF8Check {
    /// Length of the well-formed multi-byte sequence whose lead byte is `base[index]` (>= 0x80),
    /// or nil when it is ill-formed (overlong, surrogate, above U+10FFFF, cut short by `end`).
    @inlinable @inline(__always)
    package static func sequenceLength(_ base: UnsafePointer<UInt8>, at index: Int, end: Int) -> Int? {
        let lead = base[index]
        // The sequence's length, and the range its second byte must fall in (narrower after
        // E0/F0, which would be overlong, ED, which would be a surrogate, and F4, above U+10FFFF).
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2..<0xE0:
            length = 2
        case 0xE0..<0xF0:
            length = 3
            if lead == 0xE0 { low = 0xA0 } else if lead == 0xED { high = 0x9F }
        case 0xF0..<0xF5:
            length = 4
            if lead == 0xF0 { low = 0x90 } else if lead == 0xF4 { high = 0x8F }
        default:
            return nil
        }
        guard index + length <= end else { return nil }
        let second = base[index + 1]
        guard second >= low, second <= high else { return nil }
        var k = 2
        while k < length {
            guard base[index + k] & 0xC0 == 0x80 else { return nil }
            k += 1
        }
        return length
    }

    /// True when `base[from..<to]` is well-formed UTF-8.
    @inlinable
    package static func isValid(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Bool {
        var i = from
        let raw = UnsafeRawPointer(base)
        while i < to {
            if i + 8 <= to, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            if base[i] < 0x80 {
                i += 1
                continue
            }
            guard let length = sequenceLength(base, at: i, end: to) else { return false }
            i += length
        }
        return true
    }

    /// True when `bytes` is well-formed UTF-8.
    @inlinable
    package static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        return isValid(base, from: 0, to: bytes.count)
    }
}
