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
