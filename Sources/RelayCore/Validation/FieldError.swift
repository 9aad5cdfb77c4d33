// One invalid field of an inbound payload: reported to the caller in the problem's `errors` array.
package struct FieldError: Sendable, Hashable, CustomStringConvertible {
    package var field: String
    package var reason: String
    package init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
    package var description: String { "\(field): \(reason)" }
}

/// Every invalid field of one payload (maps to 422).
package struct ValidationFailure: Error, Sendable, Hashable {
    package var errors: [FieldError]
    package init(_ errors: [FieldError]) { self.errors = errors }
}
