// WordScan: looking at eight bytes at once (SWAR) to skip runs of ordinary bytes quickly.

/// Bit tricks over a 64-bit word of eight bytes. Each `…Bytes` function returns a mask with the
/// high bit of a byte set where that byte matches; only the lowest set bit is exact (a borrow
/// can flag bytes after a real match), which is all ``firstIndex(_:)`` needs.
enum WordScan {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The eight bytes at `base[index]`, first byte in the low bits.
    @inline(__always)
    static func load(_ base: UnsafePointer<UInt8>, at index: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
    }

    /// Bytes equal to `byte`.
    @inline(__always)
    static func equalBytes(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (ones &* UInt64(byte))
        return (x &- ones) & ~x & highs
    }

    /// Bytes below `limit` (at most 0x80).
    @inline(__always)
    static func bytesBelow(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- ones &* UInt64(limit)) & ~word & highs
    }

    /// Bytes of 0x80 and above.
    @inline(__always)
    static func nonASCIIBytes(_ word: UInt64) -> UInt64 {
        word & highs
    }

    /// Offset in the word of the first flagged byte (`mask` must not be zero).
    @inline(__always)
    static func firstIndex(_ mask: UInt64) -> Int {
        mask.trailingZeroBitCount >> 3
    }

    /// Bytes a JSON string cannot hold as they are: '"', '\', controls, and non-ASCII (which
    /// needs a UTF-8 check).
    @inline(__always)
    static func jsonStringSpecials(_ word: UInt64) -> UInt64 {
        equalBytes(word, ASCII.quote) | equalBytes(word, ASCII.backslash) | bytesBelow(word, 0x20) | nonASCIIBytes(word)
    }
}
