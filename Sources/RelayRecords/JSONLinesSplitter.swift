// JSONLinesSplitter: JSON Lines / NDJSON, one JSON object per line, each line validated.
import RelayCore

/// Splits on line feeds (found with `memchr`) and validates each line with ``JSONValidator``.
/// Blank lines are ignored; spaces, tabs, CR and the RFC 7464 record separator (0x1E) around
/// a record are trimmed, so CRLF files and `application/json-seq` bodies split the same way.
/// Lines are validated in place in the chunk; only a line cut by a chunk boundary is copied.
struct JSONLinesSplitter: FormatSplitter {
    private let limits: RecordLimits
    /// The start of a line whose end has not arrived yet.
    private var carry = CarryBuffer()
    /// Line number of the next line to start (or of the line in `carry`).
    private var line = 1
    /// True while discarding the rest of an over-long line.
    private var skipping = false

    init(limits: RecordLimits) {
        self.limits = limits
    }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, into items: inout [SplitItem]) throws(ExportDataError) {
        guard let base = bytes.baseAddress else { return }
        let end = bytes.count
        var i = 0
        if skipping {
            guard let newline = ByteSearch.firstIndex(of: ASCII.newline, in: base, from: 0, to: end) else { return }
            skipping = false
            line += 1
            i = newline + 1
        } else if !carry.isEmpty {
            guard let newline = ByteSearch.firstIndex(of: ASCII.newline, in: base, from: 0, to: end) else {
                extendCarry(base, from: 0, to: end, into: &items)
                return
            }
            if carry.count + newline > limits.maxRecordBytes {
                items.append(.malformed(line: line, reason: limits.tooLongReason))
                line += 1
            } else {
                carry.append(base, from: 0, to: newline)
                let number = nextLine()
                carry.bytes.withUnsafeBufferPointer { Self.split(line: $0, number: number, into: &items) }
            }
            carry.reset()
            i = newline + 1
        }
        while i < end {
            guard let newline = ByteSearch.firstIndex(of: ASCII.newline, in: base, from: i, to: end) else {
                extendCarry(base, from: i, to: end, into: &items)
                return
            }
            if newline - i > limits.maxRecordBytes {
                items.append(.malformed(line: line, reason: limits.tooLongReason))
                line += 1
            } else {
                Self.split(line: UnsafeBufferPointer(start: base + i, count: newline - i), number: nextLine(), into: &items)
            }
            i = newline + 1
        }
    }

    mutating func finish(into items: inout [SplitItem]) throws(ExportDataError) {
        if !carry.isEmpty {
            let number = nextLine()
            carry.bytes.withUnsafeBufferPointer { Self.split(line: $0, number: number, into: &items) }
            carry.reset()
        }
        skipping = false
    }

    private mutating func extendCarry(_ base: UnsafePointer<UInt8>, from: Int, to: Int, into items: inout [SplitItem]) {
        if carry.count + (to - from) > limits.maxRecordBytes {
            items.append(.malformed(line: line, reason: limits.tooLongReason))
            carry.reset()
            skipping = true
        } else {
            carry.append(base, from: from, to: to)
        }
    }

    /// The number of the line that starts now; advances the count.
    private mutating func nextLine() -> Int {
        defer { line += 1 }
        return line
    }

    /// Judges one complete line (without its line feed), line `number` of the body.
    private static func split(line text: UnsafeBufferPointer<UInt8>, number: Int, into items: inout [SplitItem]) {
        guard let base = text.baseAddress else { return }
        var start = 0
        var end = text.count
        while start < end, Self.isPadding(base[start]) { start += 1 }
        while end > start, Self.isPadding(base[end - 1]) { end -= 1 }
        if start == end { return }
        let record = UnsafeBufferPointer(start: base + start, count: end - start)
        let kind: JSONValueKind
        do {
            kind = try JSONValidator.validate(record)
        } catch {
            items.append(.malformed(line: number, reason: "invalid JSON at byte \(start + error.offset + 1): \(error.message)"))
            return
        }
        guard kind == .object else {
            items.append(.malformed(line: number, reason: "record is \(kind.phrase), not a JSON object"))
            return
        }
        items.append(.record(RawRecord(value: Array(record), line: number)))
    }

    @inline(__always)
    private static func isPadding(_ byte: UInt8) -> Bool {
        byte == ASCII.space || byte == ASCII.tab || byte == ASCII.carriageReturn || byte == ASCII.recordSeparator
    }
}
