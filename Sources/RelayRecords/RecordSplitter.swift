// RecordSplitter: the one entry point that cuts a decompressed export body into records.

/// Cuts an export body, fed in chunks of any size and split anywhere, into records of one
/// ``RecordFormat``. Memory is bounded by the chunk plus one unfinished record (at most
/// ``RecordLimits/maxRecordBytes``). A UTF-8 byte order mark at the start is dropped.
///
/// Feed every chunk in order with `feed(_:into:)`, then call ``finish(into:)`` once. Records
/// and malformed-record notes are appended to `items`, which the caller drains (and may reuse
/// with `removeAll(keepingCapacity:)`) after each call. A thrown ``ExportDataError`` means the
/// body cannot be split further: stop feeding this splitter.
package final class RecordSplitter {
    /// The format this splitter cuts.
    package let format: RecordFormat
    /// The bounds it enforces.
    package let limits: RecordLimits
    private var engine: any FormatSplitter
    /// The first bytes, held back until it is known whether they are a byte order mark.
    private var head: [UInt8] = []
    private var headChecked = false

    /// `csv` applies to ``RecordFormat/csv`` only: its delimiter, and its columns when it has no header row.
    package init(format: RecordFormat, limits: RecordLimits = RecordLimits(), csv: CSVDialect = .standard) {
        self.format = format
        self.limits = limits
        switch format {
        case .jsonLines: engine = JSONLinesSplitter(limits: limits)
        case .csv: engine = CSVSplitter(limits: limits, dialect: csv)
        case .jsonArray: engine = JSONContainerSplitter(.array, limits: limits)
        case .jsonObjectByKey: engine = JSONContainerSplitter(.objectByKey, limits: limits)
        }
    }

    /// Splits the next chunk of the body, appending finished records to `items`.
    package func feed(_ bytes: UnsafeRawBufferPointer, into items: inout [SplitItem]) throws(ExportDataError) {
        var chunk = bytes.assumingMemoryBound(to: UInt8.self)
        if !headChecked {
            guard let rest = try takeHead(chunk, into: &items) else { return }
            chunk = rest
        }
        if chunk.isEmpty { return }
        try engine.feed(chunk, into: &items)
    }

    /// Splits the next chunk of the body, appending finished records to `items`.
    package func feed(_ bytes: [UInt8], into items: inout [SplitItem]) throws(ExportDataError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ExportDataError) in try feed(raw, into: &items) }
        }
        try result.get()
    }

    /// Ends the body: flushes the last record and checks that the structure is complete.
    package func finish(into items: inout [SplitItem]) throws(ExportDataError) {
        if !headChecked {
            headChecked = true
            if !head.isEmpty {
                let held = head
                head = []
                try feed(held, into: &items)
            }
        }
        try engine.finish(into: &items)
    }

    /// Moves the chunk's first bytes into `head` until the byte order mark question is settled.
    /// Returns the rest of the chunk to split, or nil when more bytes are needed to decide.
    private func takeHead(_ chunk: UnsafeBufferPointer<UInt8>, into items: inout [SplitItem]) throws(ExportDataError) -> UnsafeBufferPointer<UInt8>? {
        if head.isEmpty, let first = chunk.first, first != ByteOrderMark.bytes[0] {
            headChecked = true
            return chunk
        }
        var used = 0
        while used < chunk.count, head.count < 3 {
            head.append(chunk[used])
            used += 1
            if head[head.count - 1] != ByteOrderMark.bytes[head.count - 1] { break }
        }
        let isMarkPrefix = head.elementsEqual(ByteOrderMark.bytes.prefix(head.count))
        if isMarkPrefix, head.count < 3 { return nil }
        headChecked = true
        let held = head
        head = []
        if !isMarkPrefix {
            try held.withUnsafeBufferPointer { (buffer) throws(ExportDataError) in
                try engine.feed(buffer, into: &items)
            }
        }
        return UnsafeBufferPointer(rebasing: chunk[used...])
    }
}
