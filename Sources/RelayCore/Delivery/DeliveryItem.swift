// What a sink receives for one delivery (an event on its way to one destination) and what it answers.
import Foundation

/// One claimed delivery: the stored event plus the key and headers its route rendered.
///
/// A value type whose fields live in one shared, copy-on-write box: the dispatcher copies each item
/// through its schedule, batches and completions, and one retain per copy is much cheaper than one
/// per string and array field.
package struct DeliveryItem: Sendable {
    private struct Fields {
        var deliveryID: Int64
        var destination: String
        var eventID: EventID
        var source: String
        var eventType: String
        var subject: String?
        var receivedAt: Date
        var key: String?
        var headers: [PlannedDelivery.Header]
        var body: [UInt8]
        var attempt: Int
        var contentType: String
    }

    // @unchecked: the box is only mutated through `fields`' setter, after making it unique (copy on write).
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private var fields: Fields {
        get { box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    package var deliveryID: Int64 {
        get { box.fields.deliveryID }
        set { fields.deliveryID = newValue }
    }
    package var destination: String {
        get { box.fields.destination }
        set { fields.destination = newValue }
    }
    package var eventID: EventID {
        get { box.fields.eventID }
        set { fields.eventID = newValue }
    }
    package var source: String {
        get { box.fields.source }
        set { fields.source = newValue }
    }
    /// CloudEvents `type`, e.g. `com.sitecore.cdp.audience-export.notification`.
    package var eventType: String {
        get { box.fields.eventType }
        set { fields.eventType = newValue }
    }
    package var subject: String? {
        get { box.fields.subject }
        set { fields.subject = newValue }
    }
    package var receivedAt: Date {
        get { box.fields.receivedAt }
        set { fields.receivedAt = newValue }
    }
    package var key: String? {
        get { box.fields.key }
        set { fields.key = newValue }
    }
    package var headers: [PlannedDelivery.Header] {
        get { box.fields.headers }
        set { fields.headers = newValue }
    }
    /// The event JSON exactly as received.
    package var body: [UInt8] {
        get { box.fields.body }
        set { fields.body = newValue }
    }
    /// 1 for the first attempt.
    package var attempt: Int {
        get { box.fields.attempt }
        set { fields.attempt = newValue }
    }
    /// Media type of `body` (NDJSON for batches of export records).
    package var contentType: String {
        get { box.fields.contentType }
        set { fields.contentType = newValue }
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
    /// Will never succeed as is: dead-letter with this reason.
    case dead(reason: String)
}
