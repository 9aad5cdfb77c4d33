// JSONObjectByKeySplitter: `{"id1": {...}, "id2": {...}}`, one record per member, carrying its key.

import RelayCore

/// Walks the top-level object's punctuation and keys itself and lets ``JSONElementCollector``
/// find each member value's end. Each record's line is the line of its key. A value that is not
/// a valid object, or a key that is not a valid string, makes that member malformed; broken
/// punctuation or an unterminated object is a structural error. An empty body yields no records.
struct JSONObjectByKeySplitter: FormatSplitter {
    private enum State {
        case beforeObject
        case firstKeyOrEnd
        /// After a comma.
        case nextKey
        case inKey
        case afterKey
        case beforeValue
        case inValue
        case afterValue
        case afterObject
    }

    private let limits: RecordLimits
    private var state = State.beforeObject
    private var line = 1
    private var collector: JSONElementCollector

    /// The raw bytes of the key being read (between its quotes, escapes unresolved).
    private var keyBytes = CarryBuffer()
    private var keyEscaped = false
    private var keyTooLong = false
    private var keyLine = 1
    /// The current member's decoded key, or nil with `keyProblem` saying why.
    private var key: String?
    private var keyProblem: String?

    init(limits: RecordLimits) {
        self.limits = limits
        collector = JSONElementCollector(limits: limits)
    }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, into items: inout [SplitItem]) throws(ExportDataError) {
        guard let base = bytes.baseAddress else { return }
        let end = bytes.count
        var i = 0
        while i < end {
            switch state {
            case .inValue:
                guard let element = try collector.scan(base, from: i, end: end, line: &line) else { return }
                emit(element, into: &items)
                i = element.next
                state = .afterValue
                continue
            case .inKey:
                i = readKey(base, from: i, end: end)
                continue
            default:
                break
            }
            let byte = base[i]
            if ASCII.isJSONSpace(byte) {
                if byte == ASCII.newline { line += 1 }
                i += 1
                continue
            }
            switch state {
            case .beforeObject:
                guard byte == ASCII.openBrace else {
                    throw .structure(line: line, "expected '{' at the start of a JSON object, found \(ByteText.describe(byte))")
                }
                state = .firstKeyOrEnd
                i += 1
            case .firstKeyOrEnd where byte == ASCII.closeBrace:
                state = .afterObject
                i += 1
            case .firstKeyOrEnd, .nextKey:
                guard byte == ASCII.quote else {
                    if byte == ASCII.closeBrace { throw .structure(line: line, "',' before '}' in the JSON object") }
                    throw .structure(line: line, "expected a string key in the JSON object, found \(ByteText.describe(byte))")
                }
                keyLine = line
                keyEscaped = false
                keyTooLong = false
                keyBytes.reset()
                state = .inKey
                i += 1
            case .afterKey:
                guard byte == ASCII.colon else {
                    throw .structure(line: line, "expected ':' after a key in the JSON object, found \(ByteText.describe(byte))")
                }
                state = .beforeValue
                i += 1
            case .beforeValue:
                if byte == ASCII.comma || byte == ASCII.closeBrace {
                    throw .structure(line: line, "missing value after a key in the JSON object")
                }
                collector.begin(at: i, line: keyLine)
                state = .inValue
            case .afterValue:
                if byte == ASCII.comma {
                    state = .nextKey
                } else if byte == ASCII.closeBrace {
                    state = .afterObject
                } else {
                    throw .structure(line: line, "expected ',' or '}' after a member value, found \(ByteText.describe(byte))")
                }
                i += 1
            case .afterObject:
                throw .structure(line: line, "unexpected \(ByteText.describe(byte)) after the end of the JSON object")
            case .inKey, .inValue:
                break
            }
        }
    }

    mutating func finish(into items: inout [SplitItem]) throws(ExportDataError) {
        switch state {
        case .beforeObject, .afterObject:
            return
        default:
            throw .structure(line: line, "unterminated JSON object: the body ended before its closing '}'")
        }
    }

    /// Reads key bytes up to the closing quote; returns where to continue.
    private mutating func readKey(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        var i = from
        while i < end {
            let byte = base[i]
            if keyEscaped {
                keyEscaped = false
            } else if byte == ASCII.backslash {
                keyEscaped = true
            } else if byte == ASCII.quote {
                storeKeyBytes(base, from: from, to: i)
                decodeKey()
                state = .afterKey
                return i + 1
            } else if byte == ASCII.newline {
                line += 1
            }
            i += 1
        }
        storeKeyBytes(base, from: from, to: end)
        return end
    }

    private mutating func storeKeyBytes(_ base: UnsafePointer<UInt8>, from: Int, to: Int) {
        guard !keyTooLong else { return }
        if keyBytes.count + (to - from) > limits.maxRecordBytes {
            keyTooLong = true
            keyBytes.reset()
        } else {
            keyBytes.append(base, from: from, to: to)
        }
    }

    private mutating func decodeKey() {
        key = nil
        keyProblem = nil
        if keyTooLong {
            keyProblem = "key is longer than \(limits.maxRecordBytes) bytes"
            return
        }
        key = keyBytes.bytes.withUnsafeBufferPointer { raw in
            guard let base = raw.baseAddress else { return "" }
            return JSONStringCodec.decode(base, from: 0, to: raw.count)
        }
        if key == nil { keyProblem = "key is not a valid JSON string" }
        keyBytes.reset()
    }

    private func emit(_ element: JSONElementCollector.Element, into items: inout [SplitItem]) {
        let line = collector.line
        guard let key else {
            items.append(.malformed(line: line, reason: keyProblem ?? "key is not a valid JSON string"))
            return
        }
        guard let bytes = element.bytes else {
            items.append(.malformed(line: line, reason: limits.tooLongReason))
            return
        }
        if !element.isValidObject, let problem = JSONElementCollector.problem(with: bytes, what: "value of key \(JSONString.quoted(key))") {
            items.append(.malformed(line: line, reason: problem))
        } else {
            items.append(.record(RawRecord(value: bytes, key: key, line: line)))
        }
    }
}
