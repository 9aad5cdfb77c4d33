// JSONArraySplitter: a JSON array of objects, one record per element, across any chunk boundaries.

/// Walks the array's punctuation itself and lets ``JSONElementCollector`` find each element's
/// end; every element is then validated. A bad element is malformed (splitting goes on);
/// broken punctuation between elements or an unterminated array is a structural error.
/// An empty body (or only whitespace) yields no records.
struct JSONArraySplitter: FormatSplitter {
    private enum State {
        case beforeArray
        case firstElementOrEnd
        /// After a comma.
        case nextElement
        case inElement
        case afterElement
        case afterArray
    }

    private let limits: RecordLimits
    private var state = State.beforeArray
    private var line = 1
    private var collector: JSONElementCollector

    init(limits: RecordLimits) {
        self.limits = limits
        collector = JSONElementCollector(limits: limits)
    }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, into items: inout [SplitItem]) throws(ExportDataError) {
        guard let base = bytes.baseAddress else { return }
        let end = bytes.count
        var i = 0
        while i < end {
            if state == .inElement {
                guard let element = try collector.scan(base, from: i, end: end, line: &line) else { return }
                emit(element, into: &items)
                i = element.next
                state = .afterElement
                continue
            }
            let byte = base[i]
            if ASCII.isJSONSpace(byte) {
                if byte == ASCII.newline { line += 1 }
                i += 1
                continue
            }
            switch state {
            case .beforeArray:
                guard byte == ASCII.openBracket else {
                    throw .structure(line: line, "expected '[' at the start of a JSON array, found \(ByteText.describe(byte))")
                }
                state = .firstElementOrEnd
                i += 1
            case .firstElementOrEnd where byte == ASCII.closeBracket:
                state = .afterArray
                i += 1
            case .firstElementOrEnd, .nextElement:
                if byte == ASCII.closeBracket { throw .structure(line: line, "',' before ']' in the JSON array") }
                if byte == ASCII.comma { throw .structure(line: line, "empty element in the JSON array") }
                collector.begin(at: i, line: line)
                state = .inElement
            case .afterElement:
                if byte == ASCII.comma {
                    state = .nextElement
                } else if byte == ASCII.closeBracket {
                    state = .afterArray
                } else {
                    throw .structure(line: line, "expected ',' or ']' after an array element, found \(ByteText.describe(byte))")
                }
                i += 1
            case .afterArray:
                throw .structure(line: line, "unexpected \(ByteText.describe(byte)) after the end of the JSON array")
            case .inElement:
                break
            }
        }
    }

    mutating func finish(into items: inout [SplitItem]) throws(ExportDataError) {
        switch state {
        case .beforeArray, .afterArray:
            return
        case .firstElementOrEnd, .nextElement, .inElement, .afterElement:
            throw .structure(line: line, "unterminated JSON array: the body ended before its closing ']'")
        }
    }

    private func emit(_ element: JSONElementCollector.Element, into items: inout [SplitItem]) {
        guard let bytes = element.bytes else {
            items.append(.malformed(line: collector.line, reason: limits.tooLongReason))
            return
        }
        if !element.isValidObject, let problem = JSONElementCollector.problem(with: bytes, what: "element") {
            items.append(.malformed(line: collector.line, reason: problem))
        } else {
            items.append(.record(RawRecord(value: bytes, line: collector.line)))
        }
    }
}
