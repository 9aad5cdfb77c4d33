// The contract between the inbound listener and durable storage: append an accepted event with its deliveries.
import Foundation
import RelayCore

/// An accepted, validated event and everything the routing table resolved for it.
public struct NewEvent: Sendable {
    public var id: String
    public var source: String
    public var type: String
    public var subject: String?
    public var dedupeKey: String
    public var receivedAt: Date
    /// The request body exactly as received (unknown fields kept verbatim).
    public var body: [UInt8]
    public var deliveries: [PlannedDelivery]
    /// The export job to record with the event, when a route asked for `apiUrl` to be fetched.
    public var export: PlannedExport?

    public init(id: String, source: String, type: String, subject: String?, dedupeKey: String, receivedAt: Date,
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

public struct AppendResult: Sendable, Equatable {
    /// The stored event's id: the new one, or the original event's for a duplicate.
    public var id: String
    public var duplicate: Bool
    public init(id: String, duplicate: Bool) {
        self.id = id
        self.duplicate = duplicate
    }
}

/// The store cannot take writes now (disk full, I/O error, read-only, shutting down): callers answer 503.
public struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var retryAfterSeconds: Int
    public init(reason: String, retryAfterSeconds: Int = 5) {
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }
    public var description: String { reason }
}

/// Durable storage of accepted events. `append` returns only once the event and its deliveries are committed.
public protocol EventStore: Sendable {
    func append(_ event: NewEvent) async throws(StoreUnavailable) -> AppendResult
}
