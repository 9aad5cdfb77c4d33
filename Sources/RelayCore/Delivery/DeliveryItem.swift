// What a sink receives for one delivery (an event on its way to one destination) and what it answers.
import Foundation

/// One claimed delivery: the stored event plus the key and headers its route rendered.
public struct DeliveryItem: Sendable {
    public var deliveryID: Int64
    public var destination: String
    public var eventID: String
    public var source: String
    /// CloudEvents `type`, e.g. `com.sitecore.cdp.audience-export.notification`.
    public var eventType: String
    public var subject: String?
    public var receivedAt: Date
    public var key: String?
    public var headers: [PlannedDelivery.Header]
    /// The event JSON exactly as received.
    public var body: [UInt8]
    /// 1 for the first attempt.
    public var attempt: Int
    /// Media type of `body` (NDJSON for batches of export records).
    public var contentType: String

    public init(deliveryID: Int64, destination: String, eventID: String, source: String, eventType: String, subject: String?,
                receivedAt: Date, key: String?, headers: [PlannedDelivery.Header], body: [UInt8], attempt: Int,
                contentType: String = "application/json") {
        self.contentType = contentType
        self.deliveryID = deliveryID
        self.destination = destination
        self.eventID = eventID
        self.source = source
        self.eventType = eventType
        self.subject = subject
        self.receivedAt = receivedAt
        self.key = key
        self.headers = headers
        self.body = body
        self.attempt = attempt
    }
}

/// A sink's verdict on one delivery.
public enum DeliveryOutcome: Sendable, Equatable {
    /// Confirmed by the destination itself (Kafka delivery report, HTTP 2xx).
    case delivered
    /// Try again later; `after` is the destination's own hint (Retry-After), if any.
    case retry(after: Duration?, reason: String)
    /// Will never succeed as is: dead-letter with this reason.
    case dead(reason: String)
}
