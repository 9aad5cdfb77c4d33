// JSONContainerSplitter: a JSON array of objects (one record per element) or a keyed object
// `{"id1": {...}, "id2": {...}}` (one record per member, carrying its key), across any chunk boundaries.

import RelayCore

/// Walks the container's punctuation (and, for a keyed object, its keys) itself and lets
/// ``JSONElementCollector`` find each value's end; every value is then validated. A bad value,
/// or a key that is not a valid string, makes that record malformed (splitting goes on); broken
/// punctuation or an unterminated container is a structural error. An empty body (or only
/// whitespace) yields no records. A keyed record's line is the line of its key.
struct JSONContainerSplitter: FormatSplitter {
    /// The two containers, told apart by their brackets and by whether members have keys.
    struct Shape {
        let open: UInt8
        let close: UInt8
        let keyed: Bool
        /// "JSON array", "JSON object": how errors name the container.
        let noun: String
        /// How errors name what follows each value's end.
        let memberNoun: String

        static let array = Shape(open: ASCII.openBracket, close: ASCII.closeBracket, keyed: false, noun: "JSON array", memberNoun: "an array element")
        static let objectByKey = Shape(open: ASCII.openBrace, close: ASCII.closeBrace, keyed: true, noun: "JSON object", memberNoun: "a member value")
    }

    private enum State {
        case beforeContainer
        case firstMemberOrEnd
        /// After a comma.
        case nextMember
        case inKey
        case afterKey
        case beforeValue
        case inValue
        case afterValue
        case afterContainer
    }

    private let shape: Shape
    private let limits: RecordLimits
    private var state = State.beforeContainer
    private var line = 1
    private var collector: JSONElementCollector
    private var key: JSONKeyReader

    init(_ shape: Shape, limits: RecordLimits) {
        self.shape = shape
        self.limits = limits
        collector = JSONElementCollector(limits: limits)
        key = JSONKeyReader(limits: limits)
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
                let (next, complete) = key.read(base, from: i, end: end, line: &line)
                if complete { state = .afterKey }
                i = next
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
            i = try step(on: byte, at: i)
        }
    }

    /// Moves past one structural byte outside keys and values; returns where to continue.
    private mutating func step(on byte: UInt8, at i: Int) throws(ExportDataError) -> Int {
        switch state {
        case .beforeContainer:
            guard byte == shape.open else {
                throw .structure(line: line, "expected '\(ByteText.character(shape.open))' at the start of a \(shape.noun), found \(ByteText.describe(byte))")
            }
            state = .firstMemberOrEnd
            return i + 1
        case .firstMemberOrEnd where byte == shape.close:
            state = .afterContainer
            return i + 1
        case .firstMemberOrEnd, .nextMember:
            if byte == shape.close { throw .structure(line: line, "',' before '\(ByteText.character(shape.close))' in the \(shape.noun)") }
            guard shape.keyed else {
                if byte == ASCII.comma { throw .structure(line: line, "empty element in the \(shape.noun)") }
                collector.begin(at: i, line: line)
                state = .inValue
                return i
            }
            guard byte == ASCII.quote else {
                throw .structure(line: line, "expected a string key in the \(shape.noun), found \(ByteText.describe(byte))")
            }
            key.begin(line: line)
            state = .inKey
            return i + 1
        case .afterKey:
            guard byte == ASCII.colon else {
                throw .structure(line: line, "expected ':' after a key in the \(shape.noun), found \(ByteText.describe(byte))")
            }
            state = .beforeValue
            return i + 1
        case .beforeValue:
            if byte == ASCII.comma || byte == shape.close {
                throw .structure(line: line, "missing value after a key in the \(shape.noun)")
            }
            collector.begin(at: i, line: key.line)
            state = .inValue
            return i
        case .afterValue:
            if byte == ASCII.comma {
                state = .nextMember
            } else if byte == shape.close {
                state = .afterContainer
            } else {
                throw .structure(line: line, "expected ',' or '\(ByteText.character(shape.close))' after \(shape.memberNoun), found \(ByteText.describe(byte))")
            }
            return i + 1
        case .afterContainer:
            throw .structure(line: line, "unexpected \(ByteText.describe(byte)) after the end of the \(shape.noun)")
        case .inKey, .inValue:
            return i
        }
    }

    mutating func finish(into items: inout [SplitItem]) throws(ExportDataError) {
        switch state {
        case .beforeContainer, .afterContainer:
            return
        default:
            throw .structure(line: line, "unterminated \(shape.noun): the body ended before its closing '\(ByteText.character(shape.close))'")
        }
    }

    private func emit(_ element: JSONElementCollector.Element, into items: inout [SplitItem]) {
        let line = collector.line
        var recordKey: String?
        if shape.keyed {
            switch key.decoded {
            case .success(let decoded): recordKey = decoded
            case .failure(let problem): return items.append(.malformed(line: line, reason: problem.reason))
            }
        }
        guard let bytes = element.bytes else {
            items.append(.malformed(line: line, reason: limits.tooLongReason))
            return
        }
        let what = { recordKey.map { "value of key \(JSONString.quoted($0))" } ?? "element" }
        if !element.isValidObject, let problem = JSONElementCollector.problem(with: bytes, what: what()) {
            items.append(.malformed(line: line, reason: problem))
        } else {
            items.append(.record(RawRecord(value: bytes, key: recordKey, line: line)))
        }
    }
}
