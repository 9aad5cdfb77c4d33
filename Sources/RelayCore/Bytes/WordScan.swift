// WordScan: looking at eight bytes at once (SWAR) to skip runs of ordinary bytes quickly.

/// Bit tricks over a 64-bit word of eight bytes. Each `…Bytes` function returns a mask with the
/// high bit of a byte set where that byte matches; only the lowest set bit is exact (a borrow
/// can flag bytes after a real match), which is all ``firstIndex(_:)`` needs.
package enum WordScan {
    @inlinable package static var ones: UInt64 { 0x0101_0101_0101_0101 }
    @inlinable package static var highs: UInt64 { 0x8080_8080_8080_8080 }

    /// The eight bytes at `base[index]`, first byte in the low bits.
    @inlinable @inline(__always)
    package static func load(_ base: UnsafePointer<UInt8>, at index: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
    }

    /// Bytes equal to `byte`.
    @inlinable @inline(__always)
    package static func equalBytes(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (ones &* UInt64(byte))
        return (x &- ones) & ~x & highs
    }

    /// Bytes below `limit` (at most 0x80).
    @inlinable @inline(__always)
    package static func bytesBelow(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- ones &* UInt64(limit)) & ~word & highs
    }

    /// Bytes of 0x80 and above.
    @inlinable @inline(__always)
    package static func nonASCIIBytes(_ word: UInt64) -> UInt64 {
        word & highs
    }

    /// Offset in the word of the first flagged byte (`mask` must not be zero).
    @inlinable @inline(__always)
    package static func firstIndex(_ mask: UInt64) -> Int {
        mask.trailingZeroBitCount >> 3
    }

    /// Bytes a JSON string cannot hold as they are: '"', '\', controls, and non-ASCII (which
    /// needs a UTF-8 check).
    @inlinable @inline(__always)
    package static func jsonStringSpecials(_ word: UInt64) -> UInt64 {
        equalBytes(word, 0x22) | equalBytes(word, 0x5C) | bytesBelow(word, 0x20) | nonASCIIBytes(word)
    }
}
