// Identifiers that have passed their rules, as types: made through the validator's own rule (or read back
// from the outbox, which only ever stored validated ones), so code past ingest never handles an unchecked
// string by mistake. (`friendlyId` never travels on its own: it reaches destinations inside the body and
// as a rendered key or subject, so it has no type of its own.)

/// An export job's `executionRef`: a UUID in 8-4-4-4-12 hex form, as the sender wrote it.
package struct ExecutionRef: Hashable, Sendable, CustomStringConvertible {
    package let rawValue: String

    /// nil unless `text` is a UUID.
    package init?(_ text: String) {
        guard FieldRules.isUUID(text) else { return nil }
        rawValue = text
    }

    /// A value validated before it was stored (outbox rows, admin paths are looked up, not trusted).
    package init(stored text: String) {
        rawValue = text
    }

    package var description: String { rawValue }
}
