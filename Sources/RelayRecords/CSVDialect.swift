// CSVDialect: how a CSV export is written — its field delimiter, and its column names when it has no header row.

/// The CSV variant ``CSVSplitter`` reads. The default is RFC 4180: commas and a header row.
package struct CSVDialect: Sendable, Hashable {
    /// The field delimiter: `,` `;` `|` or tab (never a quote, CR or LF).
    package var delimiter: UInt8
    /// The column names of a headerless file (its first row is data); nil: the first row names them.
    package var columns: [String]?

    package static let standard = CSVDialect(delimiter: ASCII.comma, columns: nil)

    package init(delimiter: UInt8, columns: [String]?) {
        self.delimiter = delimiter
        self.columns = columns
    }
}
