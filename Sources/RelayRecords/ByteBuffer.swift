// ByteBuffer: a growable byte buffer appended to with memcpy, for building records byte by byte.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RelayCore

/// Owns one heap block that grows by doubling and is freed in `deinit`. Cheaper than
/// `[UInt8].append(contentsOf:)` in the hot loops (no uniqueness checks, no generic copying).
/// Finished bytes leave it as an array with ``makeArray()``.
final class ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    func append(_ source: UnsafePointer<UInt8>, count length: Int) {
        guard length > 0 else { return }
        reserve(length)
        memcpy(base + count, source, length)
        count += length
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            if let source = buffer.baseAddress { append(source, count: buffer.count) }
        }
    }

    /// Forgets the contents; a block grown past 1 MiB is given back.
    func removeAll() {
        count = 0
        if capacity > 1 << 20 {
            base.deallocate()
            capacity = 1024
            base = .allocate(capacity: capacity)
        }
    }

    /// The bytes `from..<count` as a new array.
    func makeArray(from start: Int = 0) -> [UInt8] {
        let length = count - start
        guard length > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            if let target = buffer.baseAddress { memcpy(target, base + start, length) }
            initialized = length
        }
    }
}

/// The export's records are quoted straight into the buffer they are built in.
extension ByteBuffer: JSONOutput {}
