// What a sink receives for one delivery (an event on its way to one destination) and what it answers.
import Foundation

/// One claimed delivery: the stored event plus the key and headers its route rendered.
///
/// A value type whose fields live in one shared, copy-on-write box: the dispatcher copies each item
/// through its schedule, batches and completions, and one retain per copy is much cheaper than one
/// per string and array field. Fields read and write as `item.attempt` through the inlinable
/// dynamic-member subscript, which the optimizer turns into a direct access to the box.
@dynamicMemberLookup
package struct DeliveryItem: Sendable {
    package struct Fields: Sendable {
        package var deliveryID: Int64
        package var destination: String
        package var eventID: EventID
        package var source: String
        /// CloudEvents `type`, e.g. `com.sitecore.cdp.audience-export.notification`.
        package var eventType: String
        package var subject: String?
        package var receivedAt: Date
        package var key: String?
        package var headers: [PlannedDelivery.Header]
        /// The event JSON exactly as received.
        package var body: [UInt8]
        /// 1 for the first attempt.
        package var attempt: Int
        /// Media type of `body` (NDJSON for batches of export records).
        package var contentType: String
    }

    // @unchecked: the box is only mutated through the subscript's setter, after making it unique (copy on write).
    @usableFromInline
    final class Box: @unchecked Sendable {
        @usableFromInline var fields: Fields
        @usableFromInline init(_ fields: Fields) { self.fields = fields }
    }

    @usableFromInline var box: Box

    @inlinable
    package subscript<Value>(dynamicMember field: WritableKeyPath<Fields, Value>) -> Value {
        get { box.fields[keyPath: field] }
        set {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            box.fields[keyPath: field] = newValue
        }
    }

    package init(deliveryID: Int64, destination: String, eventID: EventID, source: String, eventType: String, subject: String?,
                receivedAt: Date, key: String?, headers: [PlannedDelivery.Header], body: [UInt8], attempt: Int,
                contentType: String = "application/json") {
        box = Box(Fields(deliveryID: deliveryID, destination: destination, eventID: eventID, source: source,
                         eventType: eventType, subject: subject, receivedAt: receivedAt, key: key, headers: headers,
                         body: body, attempt: attempt, contentType: contentType))
    }
}

/// A sink's verdict on one delivery.
package enum DeliveryOutcome: Sendable, Equatable {
    /// Confirmed by the destination itself (Kafka delivery report, HTTP 2xx).
    case delivered
    /// Try again later; `after` is the destination's own hint (Retry-After), if any.
    case retry(after: Duration?, reason: String)
    /// Not sent at all (the circuit breaker is open, the sink is shutting down, the task was
    /// cancelled before sending): try again later, but this was no attempt, so it does not use
    /// up `maxAttempts` (the delivery's `maxAge` still applies).
    case notSent(after: Duration?, reason: String)
    /// Will never succeed as is: dead-letter with this reason.
    case dead(reason: String)

    /// Whether the delivery was tried (false for ``notSent(after:reason:)``).
    package var countsAsAttempt: Bool {
        if case .notSent = self { return false }
        return true
    }
}
