// The dispatcher's view of the outbox: pending deliveries in, outcomes back, dead letters, statistics.
import Foundation
import RelayCore

/// A pending delivery as stored, with what the dispatcher needs to schedule it.
public struct PendingDelivery: Sendable {
    public var item: DeliveryItem
    public var attempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date
}

/// What happened to one delivery attempt, as it is recorded.
public enum RecordedOutcome: Sendable, Equatable {
    case delivered
    case retry(nextAttemptAt: Date, error: String)
    case dead(reason: String)
}

public struct DeadLetter: Sendable, Equatable {
    public var deliveryID: Int64
    public var eventID: String
    public var destination: String
    public var route: String
    public var attempts: Int
    public var createdAt: Date
    public var deadAt: Date?
    public var reason: String
}

public struct DestinationStats: Sendable, Equatable {
    public var destination: String
    public var pending: Int
    public var oldestPendingAge: TimeInterval?
    public var dead: Int
    public var delivered: Int
}

public protocol DeliveryQueue: Sendable {
    /// Pending deliveries of `destination` with `id > afterID`, oldest first.
    func pendingDeliveries(destination: String, afterID: Int64, limit: Int) async throws -> [PendingDelivery]
    /// Records outcomes (one transaction); attempts grow by one for each.
    func record(_ outcomes: [(deliveryID: Int64, outcome: RecordedOutcome)], at now: Date) async throws
    func deadLetters(destination: String?, limit: Int) async throws -> [DeadLetter]
    /// Returns dead deliveries to pending with a fresh attempt budget; the count re-queued.
    func replay(deliveryIDs: [Int64]) async throws -> Int
    func replay(destination: String) async throws -> Int
    func stats(now: Date) async throws -> [DestinationStats]
    /// Deletes delivered deliveries finished before `cutoff`, and events left with none; the count of deliveries removed.
    func prune(deliveredBefore cutoff: Date) async throws -> Int
}
