// CSVSplitter: RFC 4180 CSV (any of its delimiters, with a header row or named columns); each data row becomes a JSON object of strings.

import RelayCore

/// A byte state machine over RFC 4180: quoted fields with `""` escapes, embedded commas and
/// line breaks, CRLF, LF or lone CR row ends. Lenient in two ways: a quote inside an unquoted
/// field is kept as a literal character, and blank lines are skipped (a one-column empty value
/// must be written `""`). Line numbers count physical lines; a row starts on its first line.
/// The header must have unique, non-empty names (a structural error otherwise). With a
/// ``CSVDialect`` that names the columns, there is no header row: every row is data.
struct CSVSplitter: FormatSplitter {
    private enum State {
        /// At the start of a field (also the start of a row).
        case fieldStart
        /// Inside an unquoted field.
        case unquoted
        /// Inside a quoted field.
        case quoted
        /// Just after a quote inside a quoted field: the field's end, or the first of `""`.
        case quoteInQuoted
    }

    private let limits: RecordLimits
    private var state = State.fieldStart
    /// Current physical line.
    private var line = 1
    /// A row ended on CR: a line feed right after it belongs to the same row end.
    private var swallowLineFeed = false

    /// The current row's field bytes, back to back, and where each field ends.
    /// (The buffers are objects: this splitter is owned by one RecordSplitter and never copied.)
    private let rowBytes = ByteBuffer()
    private var fieldEnds: [Int] = []
    private var rowStartLine = 1
    /// The row has at least one byte or delimiter (an empty line has none).
    private var rowHasContent = false
    private var rowTooLong = false
    private var rowProblem: String?

    /// Per column, the JSON bytes that precede its value: `{"name":` or `,"name":`.
    private var columnPrefixes: [[UInt8]]?
    /// Where a row's JSON object is built.
    private let output = ByteBuffer()

    /// The field delimiter (`,` unless the dialect says otherwise).
    private let delimiter: UInt8
    /// What names the columns, for the ragged-row message.
    private let columnSource: String

    init(limits: RecordLimits, dialect: CSVDialect = .standard) {
        self.limits = limits
        delimiter = dialect.delimiter
        columnSource = dialect.columns == nil ? "the header has" : "the route's export.csv.columns name"
        if let columns = dialect.columns { columnPrefixes = Self.prefixes(columns) }
        fieldEnds.reserveCapacity(32)
    }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, into items: inout [SplitItem]) throws(ExportDataError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let end = bytes.count
        var i = 0
        if swallowLineFeed {
            swallowLineFeed = false
            if base[0] == ASCII.newline { i = 1 }
        }
        while i < end {
            switch state {
            case .fieldStart:
                let byte = base[i]
                if byte == ASCII.quote {
                    rowHasContent = true
                    state = .quoted
                    i += 1
                } else if byte == delimiter {
                    rowHasContent = true
                    fieldEnds.append(rowBytes.count)
                    i += 1
                } else if byte == ASCII.newline || byte == ASCII.carriageReturn {
                    if rowHasContent { fieldEnds.append(rowBytes.count) }
                    i = try endRow(base, at: i, end: end, into: &items)
                } else {
                    state = .unquoted
                }
            case .unquoted:
                var j = i
                while j + 8 <= end {
                    let word = WordScan.load(base, at: j)
                    let special = WordScan.equalBytes(word, delimiter) | WordScan.equalBytes(word, ASCII.newline)
                        | WordScan.equalBytes(word, ASCII.carriageReturn)
                    if special != 0 {
                        j += WordScan.firstIndex(special)
                        break
                    }
                    j += 8
                }
                while j < end {
                    let byte = base[j]
                    if byte == delimiter || byte == ASCII.newline || byte == ASCII.carriageReturn { break }
                    j += 1
                }
                rowHasContent = true
                appendFieldBytes(base, from: i, to: j)
                if j == end { return }
                fieldEnds.append(rowBytes.count)
                state = .fieldStart
                if base[j] == delimiter {
                    i = j + 1
                } else {
                    i = try endRow(base, at: j, end: end, into: &items)
                }
            case .quoted:
                var j = i
                while j < end {
                    if j + 8 <= end {
                        let word = WordScan.load(base, at: j)
                        let special = WordScan.equalBytes(word, ASCII.quote) | WordScan.equalBytes(word, ASCII.newline)
                        if special == 0 {
                            j += 8
                            continue
                        }
                        j += WordScan.firstIndex(special)
                    }
                    let byte = base[j]
                    if byte == ASCII.quote { break }
                    if byte == ASCII.newline { line += 1 }
                    j += 1
                }
                appendFieldBytes(base, from: i, to: j)
                if j == end { return }
                state = .quoteInQuoted
                i = j + 1
            case .quoteInQuoted:
                let byte = base[i]
                if byte == ASCII.quote {
                    appendFieldBytes(base, from: i, to: i + 1)
                    state = .quoted
                    i += 1
                } else if byte == delimiter {
                    fieldEnds.append(rowBytes.count)
                    state = .fieldStart
                    i += 1
                } else if byte == ASCII.newline || byte == ASCII.carriageReturn {
                    fieldEnds.append(rowBytes.count)
                    state = .fieldStart
                    i = try endRow(base, at: i, end: end, into: &items)
                } else {
                    if rowProblem == nil {
                        rowProblem = "unexpected character after the closing quote of field \(fieldEnds.count + 1)"
                    }
                    state = .unquoted
                }
            }
        }
    }

    mutating func finish(into items: inout [SplitItem]) throws(ExportDataError) {
        swallowLineFeed = false
        switch state {
        case .quoted:
            throw .structure(line: rowStartLine, "unterminated quoted field at the end of the CSV")
        case .unquoted, .quoteInQuoted:
            fieldEnds.append(rowBytes.count)
        case .fieldStart:
            if rowHasContent { fieldEnds.append(rowBytes.count) }
        }
        state = .fieldStart
        if rowHasContent { try emitRow(into: &items) }
        resetRow()
    }

    /// Ends the row at the line break `base[at]`; returns the index after the break.
    private mutating func endRow(_ base: UnsafePointer<UInt8>, at: Int, end: Int, into items: inout [SplitItem]) throws(ExportDataError) -> Int {
        var next = at + 1
        if base[at] == ASCII.carriageReturn {
            if next < end {
                if base[next] == ASCII.newline { next += 1 }
            } else {
                swallowLineFeed = true
            }
        }
        if rowHasContent { try emitRow(into: &items) }
        line += 1
        resetRow()
        return next
    }

    private mutating func resetRow() {
        rowBytes.removeAll()
        fieldEnds.removeAll(keepingCapacity: true)
        rowHasContent = false
        rowTooLong = false
        rowProblem = nil
        rowStartLine = line
    }

    @inline(__always)
    private mutating func appendFieldBytes(_ base: UnsafePointer<UInt8>, from: Int, to: Int) {
        guard from < to, !rowTooLong else { return }
        if rowBytes.count + (to - from) > limits.maxRecordBytes {
            rowTooLong = true
            rowBytes.removeAll()
            return
        }
        rowBytes.append(base + from, count: to - from)
    }

    private mutating func emitRow(into items: inout [SplitItem]) throws(ExportDataError) {
        guard let prefixes = columnPrefixes else {
            columnPrefixes = try headerPrefixes()
            return
        }
        if rowTooLong {
            items.append(.malformed(line: rowStartLine, reason: limits.tooLongReason))
        } else if let rowProblem {
            items.append(.malformed(line: rowStartLine, reason: rowProblem))
        } else if fieldEnds.count != prefixes.count {
            items.append(.malformed(line: rowStartLine, reason: "row has \(fieldEnds.count) fields, \(columnSource) \(prefixes.count)"))
        } else if let object = rowObject(prefixes) {
            items.append(.record(RawRecord(value: object, line: rowStartLine)))
        } else {
            items.append(.malformed(line: rowStartLine, reason: "row is not valid UTF-8"))
        }
    }

    /// The current row as `{"name":"value",...}`, or nil when a value is not valid UTF-8.
    private func rowObject(_ prefixes: [[UInt8]]) -> [UInt8]? {
        output.removeAll()
        var out = output
        var start = 0
        for (column, prefix) in prefixes.enumerated() {
            output.append(prefix)
            let fieldEnd = fieldEnds[column]
            guard JSONString.appendQuoted(rowBytes.base, from: start, to: fieldEnd, to: &out) else { return nil }
            start = fieldEnd
        }
        output.append(ASCII.closeBrace)
        return output.makeArray()
    }

    /// Checks the header row and renders each column's JSON prefix.
    private func headerPrefixes() throws(ExportDataError) -> [[UInt8]] {
        if rowTooLong { throw .structure(line: rowStartLine, "the CSV header row is longer than \(limits.maxRecordBytes) bytes") }
        if let rowProblem { throw .structure(line: rowStartLine, "bad CSV header: \(rowProblem)") }
        var names: [String] = []
        var seen = Set<String>()
        var start = 0
        for (column, fieldEnd) in fieldEnds.enumerated() {
            let bytes = UnsafeBufferPointer(start: rowBytes.base + start, count: fieldEnd - start)
            start = fieldEnd
            guard let name = String(validating: bytes, as: UTF8.self) else {
                throw .structure(line: rowStartLine, "CSV header column \(column + 1) is not valid UTF-8")
            }
            if name.isEmpty { throw .structure(line: rowStartLine, "CSV header column \(column + 1) has an empty name") }
            if !seen.insert(name).inserted {
                throw .structure(line: rowStartLine, "CSV header names column \(JSONString.quoted(name)) twice")
            }
            names.append(name)
        }
        return Self.prefixes(names)
    }

    /// Each column's JSON prefix: `{"name":` for the first, `,"name":` for the others.
    private static func prefixes(_ names: [String]) -> [[UInt8]] {
        names.enumerated().map { column, name in
            [column == 0 ? ASCII.openBrace : ASCII.comma] + JSONString.quotedBytes(name) + [ASCII.colon]
        }
    }
}
