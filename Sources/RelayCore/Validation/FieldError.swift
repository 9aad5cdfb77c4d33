// One invalid field of an inbound payload: reported to the caller in the problem's `errors` array.
public struct FieldError: Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
    public var description: String { "\(field): \(reason)" }
}

/// Every invalid field of one payload (maps to 422).
public struct ValidationFailure: Error, Sendable, Hashable {
    public var errors: [FieldError]
    public init(_ errors: [FieldError]) { self.errors = errors }
}
