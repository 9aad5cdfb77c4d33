// UTF8Check: validating UTF-8 in place, with an 8-bytes-at-a-time path for ASCII runs.

package enum UTF8Check {
    /// Length of the well-formed multi-byte sequence whose lead byte is `base[index]` (>= 0x80),
    /// or nil when it is ill-formed (overlong, surrogate, above U+10FFFF, cut short by `end`).
    @inlinable @inline(__always)
    package static func sequenceLength(_ base: UnsafePointer<UInt8>, at index: Int, end: Int) -> Int? {
        let lead = base[index]
        if lead < 0xC2 { return nil }
        if lead < 0xE0 {
            guard index + 1 < end, base[index + 1] & 0xC0 == 0x80 else { return nil }
            return 2
        }
        if lead < 0xF0 {
            guard index + 2 < end else { return nil }
            let second = base[index + 1]
            let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
            let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
            guard second >= low, second <= high, base[index + 2] & 0xC0 == 0x80 else { return nil }
            return 3
        }
        if lead < 0xF5 {
            guard index + 3 < end else { return nil }
            let second = base[index + 1]
            let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
            let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
            guard second >= low, second <= high,
                  base[index + 2] & 0xC0 == 0x80, base[index + 3] & 0xC0 == 0x80 else { return nil }
            return 4
        }
        return nil
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
