// RecordLimits: the size bound on one record, and the reason given when a record breaks it.

/// Bounds the splitters enforce so one record cannot take unbounded memory.
package struct RecordLimits: Sendable, Hashable {
    /// A record whose source bytes are longer than this is skipped as malformed.
    package var maxRecordBytes: Int

    /// Limits with records of at most `maxRecordBytes` (16 MiB by default).
    package init(maxRecordBytes: Int = 16 * 1024 * 1024) {
        self.maxRecordBytes = maxRecordBytes
    }
}

extension RecordLimits {
    /// The malformed-record reason for a record over the size limit.
    var tooLongReason: String { "record is longer than \(maxRecordBytes) bytes; skipped" }
}
