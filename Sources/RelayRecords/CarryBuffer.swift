// CarryBuffer: the bytes of a record cut by a chunk boundary, kept until its end arrives.

/// A byte buffer for a record that spans chunks; drops its storage after very large records.
struct CarryBuffer {
    private(set) var bytes: [UInt8] = []

    var count: Int { bytes.count }
    var isEmpty: Bool { bytes.isEmpty }

    mutating func append(_ base: UnsafePointer<UInt8>, from: Int, to: Int) {
        guard from < to else { return }
        bytes.append(contentsOf: UnsafeBufferPointer(start: base + from, count: to - from))
    }

    /// Empties the buffer, keeping up to 1 MiB of capacity for the next record.
    mutating func reset() {
        if bytes.capacity > 1 << 20 {
            bytes = []
        } else {
            bytes.removeAll(keepingCapacity: true)
        }
    }

    /// The buffered bytes followed by `base[from..<to]`, as one new array.
    func joined(with base: UnsafePointer<UInt8>, from: Int, to: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + to - from)
        out.append(contentsOf: bytes)
        if from < to { out.append(contentsOf: UnsafeBufferPointer(start: base + from, count: to - from)) }
        return out
    }
}

/// A ``CarryBuffer`` that stops keeping bytes once they would pass `limit`, remembering that they did
/// (so a too-long record is still scanned to its end, but memory stays bounded).
struct BoundedCarryBuffer {
    let limit: Int
    private var carry = CarryBuffer()
    private(set) var overflowed = false

    init(limit: Int) {
        self.limit = limit
    }

    var bytes: [UInt8] { carry.bytes }
    var isEmpty: Bool { carry.isEmpty }

    mutating func append(_ base: UnsafePointer<UInt8>, from: Int, to: Int) {
        guard !overflowed else { return }
        if exceeds(adding: to - from) {
            overflowed = true
            carry.reset()
        } else {
            carry.append(base, from: from, to: to)
        }
    }

    /// Whether the kept bytes and `count` more would pass the limit (always, once overflowed).
    func exceeds(adding count: Int) -> Bool {
        overflowed || carry.count + count > limit
    }

    /// The kept bytes followed by `base[from..<to]`, as one new array.
    func joined(with base: UnsafePointer<UInt8>, from: Int, to: Int) -> [UInt8] {
        carry.joined(with: base, from: from, to: to)
    }

    mutating func reset() {
        carry.reset()
        overflowed = false
    }
}
