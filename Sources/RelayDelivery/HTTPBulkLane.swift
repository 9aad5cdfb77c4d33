// One lane of an HTTP bulk drain: the rows of some keys, sent in id order on one curl worker thread with at
// most one request per key in flight; what was delivered (and the first failure) goes back to the drain.
import DequeModule
import RelayCore
import RelayCurl
import RelayOutbox
import Synchronization

/// Where a row of a bulk drain is: its read (batch sequence number) and its place in it, and a hash of its
/// key (nil: keyless). Rows with equal hashes are sent one at a time, which is what equal keys need (two
/// keys that collide only wait for each other).
struct BulkRowRef: Sendable {
    var batch: Int
    var index: Int
    var keyHash: Int?

    /// The request tag: batch and index in one integer (a batch holds fewer than 2^20 rows).
    var tag: Int { batch << 20 | index }
    static func from(tag: Int) -> (batch: Int, index: Int) { (tag >> 20, tag & 0xFFFFF) }
}

/// The feed source of one lane. The drain hands it rows (``enqueue(_:rows:)``, any thread); the worker
/// thread writes their requests and reports their ends; the drain takes what was confirmed.
final class HTTPBulkLane: CurlFeedSource, @unchecked Sendable {
    struct Report {
        /// Tags of the requests answered 2xx since the last take.
        var confirmed: [Int] = []
        /// Why the first request that was not delivered failed.
        var failure: String?
    }

    private let writer: HTTPBulkRequestWriter
    /// Rung when the drain must act at once: a failure, or nothing left in flight once stopped (confirmations
    /// wait for the drain's next look, a few milliseconds: a ring per request would cost a wake-up each).
    private let drainBell: Doorbell
    /// Rows handed over by the drain and not yet taken by the worker thread, with their batch.
    private let inbox = Mutex<[(sequence: Int, batch: QueuedRowBatch, rows: [BulkRowRef])]>([])
    private let report = Mutex(Report())
    /// Requests written and not yet ended.
    private let inFlightCount = Atomic<Int>(0)
    /// Set by the drain (ending) or by the lane itself (a failure): no request starts any more.
    private let stopped = Atomic<Bool>(false)

    // Worker thread only:
    private var batches: [Int: (batch: QueuedRowBatch, remaining: Int)] = [:]
    private var ready = Deque<BulkRowRef>()
    /// A key's next rows, freed when its request in flight ended: they go before `ready`, and their key
    /// stays busy for them.
    private var released = Deque<BulkRowRef>()
    /// Keys with a request in flight, and the rows waiting behind it, in id order.
    private var busyKeys: [Int: Deque<BulkRowRef>] = [:]
    /// The key hash of each keyed request in flight, by tag.
    private var inFlightKeys: [Int: Int] = [:]

    init(writer: HTTPBulkRequestWriter, drainBell: Doorbell) {
        self.writer = writer
        self.drainBell = drainBell
    }

    var inFlight: Int { inFlightCount.load(ordering: .acquiring) }

    func stop() {
        stopped.store(true, ordering: .releasing)
    }

    /// Queues `rows` of `batch` (in id order) for sending; call ``CurlFeed/pull()`` after.
    func enqueue(_ batch: (sequence: Int, batch: QueuedRowBatch), rows: [BulkRowRef]) {
        guard !rows.isEmpty else { return }
        inbox.withLock { $0.append((batch.sequence, batch.batch, rows)) }
    }

    /// What was confirmed since the last take, and the failure if there was one.
    func take() -> Report {
        report.withLock { report in
            defer { report.confirmed = [] }
            return report
        }
    }

    // MARK: - CurlFeedSource (worker thread)

    func writeNext(into request: CurlFeedRequest) -> Bool {
        while !stopped.load(ordering: .relaxed), let (row, ownsKey) = nextRow() {
            if let key = row.keyHash, !ownsKey {
                if busyKeys[key] != nil {
                    busyKeys[key]!.append(row)
                    continue
                }
                busyKeys[key] = []
            }
            guard let entry = batches[row.batch] else { continue }
            let written = entry.batch.withRow(at: row.index) { writer.write($0, into: request) }
            guard written else {
                let id = entry.batch.deliveryID(at: row.index)
                fail("delivery \(id) has a route header that cannot be sent")
                return false
            }
            request.tag = row.tag
            if let key = row.keyHash { inFlightKeys[row.tag] = key }
            inFlightCount.add(1, ordering: .relaxed)
            return true
        }
        return false
    }

    func ended(tag: Int, status: Int, error: CurlError?) {
        let (batchSequence, _) = BulkRowRef.from(tag: tag)
        if let key = inFlightKeys.removeValue(forKey: tag) {
            if var waiting = busyKeys[key], let next = waiting.popFirst() {
                busyKeys[key] = waiting
                released.append(next)
            } else {
                busyKeys[key] = nil
            }
        }
        if error == nil, (200..<300).contains(status) {
            report.withLock { $0.confirmed.append(tag) }
        } else {
            let id = batches[batchSequence].map { "\($0.batch.deliveryID(at: BulkRowRef.from(tag: tag).index))" } ?? "?"
            fail(error.map { "delivery \(id) failed: \($0.kind): \($0.message)" } ?? "delivery \(id) answered HTTP \(status)")
        }
        if let entry = batches[batchSequence] {
            batches[batchSequence] = entry.remaining > 1 ? (entry.batch, entry.remaining - 1) : nil
        }
        if inFlightCount.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 && stopped.load(ordering: .relaxed) {
            drainBell.ring()
        }
    }

    private func fail(_ reason: String) {
        stopped.store(true, ordering: .releasing)
        report.withLock { report in
            if report.failure == nil { report.failure = reason }
        }
        drainBell.ring()
    }

    /// The next row to try: a key's freed row first (which holds its key already), then the rows in id order
    /// (taking the inbox when they ran out).
    private func nextRow() -> (BulkRowRef, ownsKey: Bool)? {
        if let row = released.popFirst() { return (row, true) }
        if ready.isEmpty {
            let arrived = inbox.withLock { inbox in
                defer { inbox = [] }
                return inbox
            }
            for entry in arrived {
                batches[entry.sequence] = (entry.batch, entry.rows.count)
                ready.append(contentsOf: entry.rows)
            }
        }
        return ready.popFirst().map { ($0, false) }
    }
}
