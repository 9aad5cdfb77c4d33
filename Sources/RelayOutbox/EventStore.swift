// The contract between the inbound listener and durable storage: append an accepted event with its deliveries.
import Foundation
import RelayCore

/// An accepted, validated event and everything the routing table resolved for it.
package struct NewEvent: Sendable {
    package var id: EventID
    package var source: String
    package var type: String
    package var subject: String?
    package var dedupeKey: String
    package var receivedAt: Date
    /// The request body exactly as received (unknown fields kept verbatim).
    package var body: [UInt8]
    package var deliveries: [PlannedDelivery]
    /// The export job to record with the event, when a route asked for `apiUrl` to be fetched.
    package var export: PlannedExport?

    package init(id: EventID, source: String, type: String, subject: String?, dedupeKey: String, receivedAt: Date,
                body: [UInt8], deliveries: [PlannedDelivery], export: PlannedExport? = nil) {
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.dedupeKey = dedupeKey
        self.receivedAt = receivedAt
        self.body = body
        self.deliveries = deliveries
        self.export = export
    }
}

package struct AppendResult: Sendable, Equatable {
    /// The stored event's id: the new one, or the original event's for a duplicate.
    package var id: EventID
    package var duplicate: Bool
    package init(id: EventID, duplicate: Bool) {
        self.id = id
        self.duplicate = duplicate
    }
}

/// The store cannot take writes now (disk full, I/O error, read-only, shutting down): callers answer 503.
package struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    package var reason: String
    package var retryAfterSeconds: Int
    package init(reason: String, retryAfterSeconds: Int = 5) {
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }
    package var description: String { reason }
}

/// Durable storage of accepted events. `append` returns only once the event and its deliveries are committed.
package protocol EventStore: Sendable {
    func append(_ event: NewEvent) async throws(StoreUnavailable) -> AppendResult
}
