// ExportDataError: an export body that cannot be read further (bad gzip, broken structure).

/// The downloaded body is unusable from this point on: the gzip stream is corrupt or truncated,
/// the record structure is broken so that the splitter cannot find the next record, or the
/// format cannot be told.
/// Bad single records are not errors; they come out as ``SplitItem/malformed(line:reason:)``.
package struct ExportDataError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The layer that gave up.
    package enum Kind: Sendable, Hashable {
        /// The gzip stream is corrupt (bad header, bad deflate data, CRC mismatch).
        case corruptGzip
        /// The gzip stream ended in the middle of a member.
        case truncatedGzip
        /// The record structure is broken (unterminated array, garbage between elements,
        /// unterminated CSV quote, bad CSV header).
        case structure
        /// No format was configured and none could be detected from the body.
        case unknownFormat
    }

    /// Which layer gave up.
    package var kind: Kind
    /// 1-based line of the body where the problem was found, when it is known.
    package var line: Int?
    /// What is wrong, for logs and job status.
    package var reason: String

    /// An error of `kind` found on `line` (nil when unknown), saying `reason`.
    package init(kind: Kind, line: Int?, reason: String) {
        self.kind = kind
        self.line = line
        self.reason = reason
    }

    package var description: String {
        if let line { return "\(reason) (line \(line))" }
        return reason
    }

    static func structure(line: Int, _ reason: String) -> ExportDataError {
        ExportDataError(kind: .structure, line: line, reason: reason)
    }
}
