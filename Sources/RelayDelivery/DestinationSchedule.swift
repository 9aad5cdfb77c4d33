// In-memory scheduling of one destination's pending deliveries: due times, per-key order, in-flight set.
import DequeModule
import Foundation
import HeapModule
import RelayOutbox

/// Deliveries sharing a key leave in acceptance (id) order: only the oldest pending one of a key is ever
/// ready or in flight; the rest wait behind it. Keyless deliveries are independent.
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
    private(set) var bodyBytes = 0

    var count: Int { rows.count }
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
                keyQueues[key]?.append(id)
            }
        } else {
            schedule(id, due: delivery.nextAttemptAt, now: now)
        }
    }

    private mutating func schedule(_ id: Int64, due: Date, now: Date) {
        if due <= now { ready.append(id) } else { timers.insert(Timer(due: due, id: id)) }
    }

    /// Up to `limit` deliveries that are due now, marked in flight.
    mutating func takeReady(limit: Int, now: Date) -> [PendingDelivery] {
        while let first = timers.min, first.due <= now {
            timers.removeMin()
            ready.append(first.id)
        }
        var batch: [PendingDelivery] = []
        batch.reserveCapacity(min(limit, ready.count))
        while batch.count < limit, let id = ready.popFirst() {
            guard let row = rows[id] else { continue }
            inFlight.insert(id)
            batch.append(row)
        }
        return batch
    }

    /// The delivery is done (delivered or dead): forget it and release the next one of its key.
    mutating func finish(_ id: Int64, now: Date) {
        inFlight.remove(id)
        guard let row = rows.removeValue(forKey: id) else { return }
        bodyBytes -= row.item.body.count
        guard let key = row.item.key, var queue = keyQueues[key] else { return }
        if queue.first == id { queue.removeFirst() } else { queue.removeAll { $0 == id } }
        if let next = queue.first, let nextRow = rows[next] {
            keyQueues[key] = queue
            schedule(next, due: nextRow.nextAttemptAt, now: now)
        } else {
            keyQueues[key] = nil
        }
    }

    /// The delivery failed and will be tried again at `due`; it stays first of its key.
    mutating func retry(_ id: Int64, due: Date, attempts: Int, now: Date) {
        inFlight.remove(id)
        guard var row = rows[id] else { return }
        row.attempts = attempts
        row.item.attempt = attempts + 1
        row.nextAttemptAt = due
        rows[id] = row
        schedule(id, due: due, now: now)
    }

    /// When the earliest waiting retry falls due (nil if none).
    var nextDue: Date? { timers.min?.due }
    var hasReady: Bool { !ready.isEmpty }
}
