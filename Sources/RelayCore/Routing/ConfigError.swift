// A problem found in a routing-table file, with the place it was found.

package struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var column: Int
    package var message: String

    package init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, the form editors and CI annotate.
    package var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Every problem of one load, in file order.
package struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    package var errors: [ConfigError]
    package init(_ errors: [ConfigError]) {
        self.errors = errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }
    package var description: String { errors.map(\.description).joined(separator: "\n") }
}
