// What a destination worker still has to write: row changes and how far its cursor may move.
import Foundation
import RelayOutbox

/// The worker's bookkeeping between a sink's outcomes and the outbox: outcomes are noted as they
/// arrive, taken out as one record (changes in order + the cursor) when due, and put back if that
/// record could not be written. A delivered queued row needs no change of its own: the cursor passing
/// it records it; a queued row that failed may be passed once its change is in the same record.
struct OutcomeLedger {
    private(set) var cursor: DeliveryCursor
    private var unrecorded: [DeliveryStateChange] = []
    /// Retrying rows finished in memory whose change is not committed yet (a rescan must not reload them).
    private var unsettled = Set<Int64>()
    /// A record is being written.
    private(set) var recording = false
    private(set) var nextRecord = ContinuousClock.now
    private(set) var failedWhileStopping = 0

    init(committed: Int64) {
        cursor = DeliveryCursor(committed: committed)
    }

    var hasSomethingToRecord: Bool { !unrecorded.isEmpty || cursor.needsWrite }

    func isUnsettled(_ id: Int64) -> Bool { unsettled.contains(id) }

    mutating func loaded(_ id: Int64) {
        cursor.load(id)
    }

    /// One attempt's outcome for `delivery` (as it was when it was sent).
    mutating func note(_ change: DeliveryStateChange, of delivery: PendingDelivery) {
        let id = change.deliveryID
        if delivery.retrying || change.outcome != .delivered { unrecorded.append(change) }
        if !delivery.retrying { cursor.resolve(id) }
        if delivery.retrying, change.outcome == .delivered || Self.isDead(change.outcome) { unsettled.insert(id) }
    }

    /// The next record to write, if one is due (marks it as being written).
    mutating func takeRecord(stopping: Bool, limits: WorkerLimits, attemptsWhenStopping: Int) -> (changes: [DeliveryStateChange], cursor: Int64?)? {
        guard !recording, hasSomethingToRecord else { return nil }
        let due = stopping || unrecorded.count >= limits.recordBatch || ContinuousClock.now >= nextRecord
        guard due, !(stopping && failedWhileStopping >= attemptsWhenStopping) else { return nil }
        defer {
            unrecorded = []
            recording = true
            nextRecord = ContinuousClock.now + limits.recordInterval
        }
        return (unrecorded, cursor.needsWrite ? cursor.candidate : nil)
    }

    /// How the record taken by `takeRecord` went.
    mutating func recorded(_ changes: [DeliveryStateChange], cursor committed: Int64?, ok: Bool, stopping: Bool) {
        recording = false
        if ok {
            if let committed { cursor.commit(committed) }
            for change in changes where change.outcome == .delivered || Self.isDead(change.outcome) {
                unsettled.remove(change.deliveryID)
            }
        } else {
            // Kept, in order, for the next attempt; the rows stay pending on disk meanwhile (at-least-once).
            unrecorded.insert(contentsOf: changes, at: 0)
            nextRecord = ContinuousClock.now + .seconds(1)
            if stopping { failedWhileStopping += 1 }
        }
    }

    private static func isDead(_ outcome: RecordedOutcome) -> Bool {
        if case .dead = outcome { return true }
        return false
    }
}
