// CSVDialect: how a CSV export is written — its field delimiter, and its column names when it has no header row.

/// The CSV variant ``CSVSplitter`` reads. The default is RFC 4180: commas and a header row.
public struct CSVDialect: Sendable, Hashable {
    /// The field delimiter: `,` `;` `|` or tab (never a quote, CR or LF).
    public var delimiter: UInt8
    /// The column names of a headerless file (its first row is data); nil: the first row names them.
    public var columns: [String]?

    public static let standard = CSVDialect(delimiter: ASCII.comma, columns: nil)

    public init(delimiter: UInt8, columns: [String]?) {
        self.delimiter = delimiter
        self.columns = columns
    }
}
