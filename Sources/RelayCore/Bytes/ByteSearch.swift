// ByteSearch: finding a byte in memory with libc's vectorised memchr.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

package enum ByteSearch {
    /// Index of the first `byte` in `base[from..<to]`, or nil.
    @inlinable
    package static func firstIndex(of byte: UInt8, in base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        guard from < to, let hit = memchr(base + from, Int32(byte), to - from) else { return nil }
        return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
    }

    /// How many times `byte` occurs in `base[from..<to]`.
    package static func count(of byte: UInt8, in base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int {
        var total = 0
        var i = from
        while let hit = firstIndex(of: byte, in: base, from: i, to: to) {
            total += 1
            i = hit + 1
        }
        return total
    }
}
