// The dispatcher's view of the outbox: pending deliveries in, outcomes back, dead letters, statistics.
import Foundation
import RelayCore

/// A pending delivery as stored, with what the dispatcher needs to schedule it.
package struct PendingDelivery: Sendable {
    package var item: DeliveryItem
    package var attempts: Int
    package var createdAt: Date
    package var nextAttemptAt: Date
    /// False for a row still queued under its destination's cursor (never failed): delivering it needs
    /// no write of its own, the cursor passing it is the record. True once it failed or was replayed.
    package var retrying: Bool
}

/// What happened to one delivery attempt, as it is recorded.
package enum RecordedOutcome: Sendable, Equatable {
    case delivered
    case retry(nextAttemptAt: Date, error: String)
    case dead(reason: String)
}

/// One row's new state. A `.retry` makes a queued row `retrying`, so the cursor may pass it.
package struct DeliveryStateChange: Sendable, Equatable {
    package var deliveryID: Int64
    /// Attempts made so far, this one included.
    package var attempts: Int
    package var outcome: RecordedOutcome

    package init(deliveryID: Int64, attempts: Int, outcome: RecordedOutcome) {
        self.deliveryID = deliveryID
        self.attempts = attempts
        self.outcome = outcome
    }
}

/// Encodes as `{id, eventId, destination, route, attempts, createdAt, deadAt, reason}` (admin API).
package struct DeadLetter: Sendable, Equatable, Codable {
    package var deliveryID: Int64
    package var eventID: String
    package var destination: String
    package var route: String
    package var attempts: Int
    package var createdAt: Date
    package var deadAt: Date?
    package var reason: String

    private enum CodingKeys: String, CodingKey {
        case deliveryID = "id", eventID = "eventId", destination, route, attempts, createdAt, deadAt, reason
    }
}

package struct DestinationStats: Sendable, Equatable {
    package var destination: String
    package var pending: Int
    package var oldestPendingAge: TimeInterval?
    package var dead: Int
    package var delivered: Int
}

/// Delivery state is a per-destination cursor plus rows for the exceptions: queued rows above the cursor
/// are pending, queued rows at or below it are delivered; retrying rows are pending wherever they are.
package protocol DeliveryQueue: Sendable {
    /// The destination's cursor: the id through which its queued deliveries are delivered (0 when none).
    func deliveredThrough(destination: String) async throws -> Int64
    /// Queued deliveries of `destination` with `id > afterID`, oldest first.
    func queuedDeliveries(destination: String, afterID: Int64, limit: Int) async throws -> [PendingDelivery]
    /// Retrying deliveries of `destination` with `id > afterID`, oldest first.
    func retryingDeliveries(destination: String, afterID: Int64, limit: Int) async throws -> [PendingDelivery]
    /// Writes `changes` in order and moves the cursor up to `deliveredThrough` (never down), in one
    /// transaction. The caller passes the cursor over a queued row only once that row was delivered or its
    /// change is in this or an earlier call. Not fsynced by itself: a crash may lose the last records, which
    /// only means their deliveries are made again (at-least-once); the next acknowledged append syncs them.
    func record(_ changes: [DeliveryStateChange], destination: String, deliveredThrough: Int64?, at now: Date) async throws
    func deadLetters(destination: String?, limit: Int) async throws -> [DeadLetter]
    /// Returns dead deliveries to pending with a fresh attempt budget; the count re-queued.
    func replay(deliveryIDs: [Int64]) async throws -> Int
    func replay(destination: String) async throws -> Int
    /// Dead-letters every pending delivery of `destination` (queued above its cursor, or retrying) with
    /// `reason`: what happens to a destination's backlog when it leaves the routing table. Replayable
    /// like any dead letter. Returns the count.
    func deadLetterPending(destination: String, reason: String, at now: Date) async throws -> Int
    func stats(now: Date) async throws -> [DestinationStats]
    /// Pending count, oldest pending age and dead count of each of `destinations` (`delivered` is 0),
    /// read from the partial indexes only: what the periodic gauges need, without the full scan of
    /// ``stats(now:)`` (which counts delivered rows too).
    func pendingStats(destinations: [String], now: Date) async throws -> [DestinationStats]
    /// Deletes delivered deliveries from before `cutoff` (received before it when the cursor delivered them,
    /// finished before it otherwise), and events left with none; the count of deliveries removed.
    func prune(deliveredBefore cutoff: Date) async throws -> Int
}
