// In-memory scheduling of one destination's pending deliveries: due times, per-key order, in-flight set.
import DequeModule
import Foundation
import HeapModule
import RelayCore
import RelayOutbox

/// Deliveries sharing a key leave in acceptance (id) order: only the oldest pending one of a key is ever
/// ready; the rest wait behind it, and one per key is in flight. A sink that keeps the order in which
/// batches are handed to it (`ordered`, Kafka's idempotent producer) may take a key's consecutive due
/// deliveries in one batch, and a key's new delivery is ready at once while everything before it is in
/// flight (nothing waits for a retry). After a failure, a key with anything in flight releases its next
/// delivery only when all of them are done. Keyless deliveries are independent.
struct DestinationSchedule {
    private struct Timer: Comparable {
        var due: Date
        var id: Int64
        static func < (a: Timer, b: Timer) -> Bool { (a.due, a.id) < (b.due, b.id) }
    }

    private(set) var rows: [Int64: PendingDelivery] = [:]
    private var keyQueues: [String: Deque<Int64>] = [:]
    private var ready = Deque<Int64>()
    private var timers = Heap<Timer>()
    private(set) var inFlight = Set<Int64>()
    private var inFlightPerKey: [String: Int] = [:]
    private(set) var bodyBytes = 0
    let ordered: Bool

    init(ordered: Bool = false) {
        self.ordered = ordered
    }

    var count: Int { rows.count }
    /// Deliveries ready to go (an estimate: a listed id may turn out to be taken or waiting already).
    var readyCount: Int { ready.count }
    func contains(_ id: Int64) -> Bool { rows[id] != nil }

    mutating func add(_ delivery: PendingDelivery, now: Date) {
        let id = delivery.item.deliveryID
        guard rows[id] == nil else { return }
        rows[id] = delivery
        bodyBytes += delivery.item.body.count
        if let key = delivery.item.key {
            if keyQueues[key, default: []].isEmpty {
                keyQueues[key] = [id]
                schedule(id, due: delivery.nextAttemptAt, now: now)
            } else {
                let everythingBeforeInFlight = ordered && inFlightPerKey[key] == keyQueues[key]?.count
                keyQueues[key]?.append(id)
                if everythingBeforeInFlight && delivery.nextAttemptAt <= now { ready.append(id) }
            }
        } else {
            schedule(id, due: delivery.nextAttemptAt, now: now)
        }
    }

    private mutating func schedule(_ id: Int64, due: Date, now: Date) {
        if due <= now { ready.append(id) } else { timers.insert(Timer(due: due, id: id)) }
    }

    /// Up to `limit` deliveries that are due now, marked in flight. When `ordered`, a taken delivery brings
    /// along the due deliveries queued behind it in its key, in order.
    mutating func takeReady(limit: Int, now: Date) -> [PendingDelivery] {
        while let first = timers.min, first.due <= now {
            timers.removeMin()
            ready.append(first.id)
        }
        var batch: [PendingDelivery] = []
        batch.reserveCapacity(min(limit, ready.count))
        while batch.count < limit, let id = ready.popFirst() {
            // An id can be listed twice (made ready early, then again as its key's head), or listed from before
            // it failed: only a delivery not in flight and due goes. One made ready early waits again if a
            // delivery before it failed meanwhile (it goes with the retry, in order).
            guard let row = rows[id], !inFlight.contains(id), row.nextAttemptAt <= now else { continue }
            guard let key = row.item.key, let queue = keyQueues[key] else {
                take(row, into: &batch)
                continue
            }
            // A key's deliveries in flight are always the front of its queue, so the next one may go only if it
            // stands right behind them (O(1); a failed one waiting at the front blocks everything behind it).
            let position = inFlightPerKey[key] ?? 0
            guard position < queue.count, queue[position] == id else { continue }
            take(row, into: &batch)
            guard ordered else { continue }
            for next in queue[(position + 1)...] {
                guard batch.count < limit, !inFlight.contains(next), let follower = rows[next], follower.nextAttemptAt <= now else { break }
                take(follower, into: &batch)
            }
        }
        return batch
    }

    private mutating func take(_ row: PendingDelivery, into batch: inout [PendingDelivery]) {
        inFlight.insert(row.item.deliveryID)
        if let key = row.item.key { inFlightPerKey[key, default: 0] += 1 }
        batch.append(row)
    }

    /// One of `key`'s deliveries left flight; when none is left, its (new) head is scheduled.
    private mutating func landed(key: String, now: Date) {
        let remaining = (inFlightPerKey[key] ?? 1) - 1
        inFlightPerKey[key] = remaining > 0 ? remaining : nil
        guard remaining <= 0 else { return }
        if let head = keyQueues[key]?.first, let row = rows[head] {
            schedule(head, due: row.nextAttemptAt, now: now)
        } else {
            keyQueues[key] = nil
        }
    }

    /// The delivery is done (delivered or dead): forget it; its key moves on once nothing of it is in flight.
    mutating func finish(_ id: Int64, now: Date) {
        inFlight.remove(id)
        guard let row = rows.removeValue(forKey: id) else { return }
        bodyBytes -= row.item.body.count
        guard let key = row.item.key else { return }
        if keyQueues[key]?.first == id {
            keyQueues[key]?.removeFirst()
        } else {
            keyQueues[key]?.removeAll { $0 == id }
        }
        landed(key: key, now: now)
    }

    /// The delivery failed and will be tried again at `due`; it keeps its place in its key's queue.
    mutating func retry(_ id: Int64, due: Date, attempts: Int, now: Date) {
        inFlight.remove(id)
        guard var row = rows[id] else { return }
        row.retrying = true
        row.attempts = attempts
        row.item.attempt = attempts + 1
        row.nextAttemptAt = due
        rows[id] = row
        if let key = row.item.key {
            landed(key: key, now: now)
        } else {
            schedule(id, due: due, now: now)
        }
    }

    /// When the earliest waiting retry falls due (nil if none).
    var nextDue: Date? { timers.min?.due }
}
