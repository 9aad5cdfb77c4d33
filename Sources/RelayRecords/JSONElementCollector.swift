// JSONElementCollector: gathers the bytes of one JSON array element or object member value.
import RelayCore

/// Finds the end of a JSON value with ``JSONValueScanner`` and hands out its bytes verbatim,
/// copying only the part that arrived in earlier chunks. A value longer than the limit is
/// scanned to its end but not kept, so memory stays bounded.
struct JSONElementCollector {
    /// A value that ended inside the current chunk.
    struct Element {
        /// The value's bytes, or nil when it was longer than the limit.
        var bytes: [UInt8]?
        /// Index in the chunk just after the value.
        var next: Int
        /// True when the bytes are already known to be a valid JSON object.
        var isValidObject = false
    }

    private let limits: RecordLimits
    private var scanner = JSONValueScanner()
    private var pending: BoundedCarryBuffer
    /// Where the value's bytes begin in the current chunk (0 when it began in an earlier one).
    private var start = 0
    /// Line on which the value starts.
    private(set) var line = 1

    init(limits: RecordLimits) {
        self.limits = limits
        pending = BoundedCarryBuffer(limit: limits.maxRecordBytes)
    }

    /// Starts a value whose first (non-whitespace) byte is at `index` of the current chunk, on
    /// `line`. The next ``scan(_:from:end:line:)`` must start at `index`.
    mutating func begin(at index: Int, line: Int) {
        scanner.reset()
        start = index
        self.line = line
        pending.reset()
    }

    /// Scans on from `from`. Returns the finished value, or nil when it goes on past `end`
    /// (its bytes so far are kept for the next chunk). Counts line feeds into `line`.
    mutating func scan(_ base: UnsafePointer<UInt8>, from: Int, end: Int, line: inout Int) throws(ExportDataError) -> Element? {
        if from == start, pending.isEmpty, !pending.overflowed, base[from] == ASCII.openBrace,
           let stop = JSONValidator.validatePrefix(base, from: from, end: end) {
            // Fast path: a valid object wholly in this chunk is validated and delimited in one pass.
            line += ByteSearch.count(of: ASCII.newline, in: base, from: from, to: stop)
            start = 0
            let length = stop - from
            if length > limits.maxRecordBytes { return Element(bytes: nil, next: stop) }
            return Element(bytes: Array(UnsafeBufferPointer(start: base + from, count: length)), next: stop, isValidObject: true)
        }
        let stop: Int?
        do {
            stop = try scanner.scan(base, from: from, end: end, line: &line)
        } catch {
            throw .structure(line: line, "broken JSON nesting: \(error.message)")
        }
        guard let stop else {
            keep(base, to: end)
            return nil
        }
        defer {
            pending.reset()
            start = 0
        }
        if pending.exceeds(adding: stop - start) {
            return Element(bytes: nil, next: stop)
        }
        if pending.isEmpty {
            return Element(bytes: Array(UnsafeBufferPointer(start: base + start, count: stop - start)), next: stop)
        }
        return Element(bytes: pending.joined(with: base, from: start, to: stop), next: stop)
    }

    private mutating func keep(_ base: UnsafePointer<UInt8>, to end: Int) {
        pending.append(base, from: start, to: end)
        start = 0
    }

    /// Judges a finished value as a record: nil when it is a valid JSON object, else the reason.
    /// `what` names the value in the reason ("element"); it is only built for a bad value.
    static func problem(with bytes: [UInt8], what: @autoclosure () -> String) -> String? {
        do {
            let kind = try JSONValidator.validate(bytes)
            return kind == .object ? nil : "\(what()) is \(kind.phrase), not a JSON object"
        } catch {
            return "invalid JSON at byte \(error.offset + 1) of the \(what()): \(error.message)"
        }
    }
}
