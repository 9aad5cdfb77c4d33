// JSONKeyReader: the key of a keyed object's member, read across chunk boundaries and decoded.
import RelayCore

/// Collects a key's raw bytes (between its quotes, escapes unresolved; bounded by the record
/// limit) and decodes them once the closing quote arrives.
struct JSONKeyReader {
    /// Why a key cannot name a record.
    struct Problem: Error {
        let reason: String
    }

    private let limits: RecordLimits
    private var raw: BoundedCarryBuffer
    private var escaped = false
    /// Line of the key's opening quote.
    private(set) var line = 1
    /// The last finished key, decoded, or why it cannot be.
    private(set) var decoded: Result<String, Problem> = .failure(Problem(reason: "key is not a valid JSON string"))

    init(limits: RecordLimits) {
        self.limits = limits
        raw = BoundedCarryBuffer(limit: limits.maxRecordBytes)
    }

    /// Starts a key whose opening quote is on `line`; reading starts just after the quote.
    mutating func begin(line: Int) {
        self.line = line
        escaped = false
        raw.reset()
    }

    /// Reads key bytes up to the closing quote, counting line feeds into `line`. Returns where to
    /// continue and whether the key is complete (its closing quote consumed, `decoded` set).
    mutating func read(_ base: UnsafePointer<UInt8>, from: Int, end: Int, line: inout Int) -> (next: Int, complete: Bool) {
        var i = from
        while i < end {
            let byte = base[i]
            if escaped {
                escaped = false
            } else if byte == ASCII.backslash {
                escaped = true
            } else if byte == ASCII.quote {
                raw.append(base, from: from, to: i)
                decode()
                return (i + 1, true)
            } else if byte == ASCII.newline {
                line += 1
            }
            i += 1
        }
        raw.append(base, from: from, to: end)
        return (end, false)
    }

    private mutating func decode() {
        defer { raw.reset() }
        if raw.overflowed {
            decoded = .failure(Problem(reason: "key is longer than \(limits.maxRecordBytes) bytes"))
            return
        }
        let key = raw.bytes.withUnsafeBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress else { return "" }
            return JSONStringCodec.decode(base, from: 0, to: buffer.count)
        }
        if let key {
            decoded = .success(key)
        } else {
            decoded = .failure(Problem(reason: "key is not a valid JSON string"))
        }
    }
}
