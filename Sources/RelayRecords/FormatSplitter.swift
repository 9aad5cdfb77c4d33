// FormatSplitter: the contract each per-format splitter fulfils for RecordSplitter.

/// Cuts a stream of bytes into records of one format. Fed chunks in order, of any size;
/// `finish` marks the end of the input. Implementations keep only the unfinished record
/// between calls (bounded by ``RecordLimits/maxRecordBytes``).
protocol FormatSplitter {
    /// Splits `bytes` (a non-empty chunk), appending finished records to `items`.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, into items: inout [SplitItem]) throws(ExportDataError)
    /// Flushes the last record and checks the structure is complete.
    mutating func finish(into items: inout [SplitItem]) throws(ExportDataError)
}
