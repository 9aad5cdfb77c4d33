// An HTTP destination's backlog sent straight from the outbox through feeds of reused easy handles while
// nothing else of it is pending: no per-row Swift objects, the cursor moved over the delivered prefix.
import CoreMetrics
import Foundation
import Logging
import RelayCore
import RelayCurl
import RelayOutbox

/// One bulk drain of an HTTP destination's queued rows, from a cursor with nothing pending below or beside
/// it (no retrying rows, nothing in flight, the breaker closed). Rows are read in batches, split by key over
/// one lane per curl worker thread (``HTTPBulkLane``), and sent in id order with at most one request per
/// key in flight, within the destination's concurrency: per-key order holds as on the scheduled path.
///
/// The drain ends when it has caught up, at the first request not answered 2xx (or not sent), when the
/// worker stops or pauses, or when a read fails. It then lets the requests in flight finish and writes the
/// cursor through the delivered prefix: every row after it (the failed one, and delivered ones behind it)
/// goes to the scheduled path, which classifies the failure and owns retries, back-off, the breaker, dead
/// letters and per-key order. At-least-once: a delivered row past a failure, or past the last cursor
/// written before a crash, is delivered again.
struct HTTPBulkDrain {
    struct Outcome {
        /// The cursor as committed when the drain ended.
        var committed: Int64
        var delivered = 0
        /// Every queued row was read and delivered.
        var caughtUp = false
        /// Why the drain ended early (nil when it caught up, or was stopped).
        var endedBecause: String?
        var reads = 0
        /// From the start until the last row was read and handed to the lanes.
        var readingTook: Duration = .zero
        /// Why the last write of the cursor failed, if one did.
        var recordError: String?
    }

    let destination: String
    let reader: any QueuedRowReader
    let queue: any DeliveryQueue
    let sink: HTTPSink
    let limits: WorkerLimits
    let metrics: DeliveryMetrics
    let clock: @Sendable () -> Date
    let logger: Logger
    /// True once the worker is stopping or paused.
    let shouldEnd: () -> Bool

    /// How often the drain takes the lanes' confirmations while it has nothing to read (failures wake it at once).
    static let reportInterval: Duration = .milliseconds(5)

    /// Drains from `cursor` (committed, nothing pending at or below it).
    func run(from cursor: Int64) async -> Outcome {
        let began = ContinuousClock.now
        var outcome = Outcome(committed: cursor)
        let bell = Doorbell()
        let lanes = openLanes(bell: bell)
        if lanes.isEmpty { outcome.endedBecause = "the requests of the bulk drain could not be set up" }
        var prefix = DeliveredPrefix(through: cursor)
        var reads = QueuedBatchReads(reader: reader, destination: destination)
        var lastRead = cursor
        var readAll = false
        var sequence = 0
        var nextRecord = began + limits.recordInterval
        while outcome.endedBecause == nil, !Task.isCancelled, !shouldEnd() {
            if !readAll, prefix.outstanding + QueuedBatchReads.rowsPerRead <= limits.window, prefix.outstandingBytes < limits.windowBytes {
                switch await reads.take(after: lastRead) {
                case .failure(let error):
                    outcome.endedBecause = "cannot read queued deliveries: \(error)"
                case .success(let batch):
                    if outcome.reads == 0, !batch.isEmpty {
                        logger.info("draining backlog in bulk", metadata: ["from_delivery_id": "\(lastRead)"])
                    }
                    outcome.reads += 1
                    readAll = batch.reachedEnd || batch.isEmpty
                    if !batch.isEmpty {
                        lastRead = batch.deliveryID(at: batch.count - 1)
                        prefix.add(batch, sequence: sequence)
                        dispatch(batch, sequence: sequence, to: lanes)
                        sequence += 1
                    }
                    if readAll { outcome.readingTook = ContinuousClock.now - began }
                }
            } else if readAll, prefix.outstanding == 0 {
                outcome.caughtUp = true
                break
            } else {
                await bell.wait(timeout: Self.reportInterval)
                // A lane that found no free permit (export forwarding holds them) starts nothing until asked again.
                for lane in lanes where lane.feed.isWaitingForPermit { lane.feed.pull() }
            }
            if let failure = takeReports(from: lanes, into: &prefix, &outcome) { outcome.endedBecause = failure }
            if ContinuousClock.now >= nextRecord, prefix.through > outcome.committed {
                nextRecord = ContinuousClock.now + limits.recordInterval
                await record(prefix.through, &outcome)
            }
        }
        await reads.cancel()
        await finish(lanes, bell: bell, &prefix, &outcome)
        log(outcome, took: ContinuousClock.now - began)
        return outcome
    }

    /// One lane per curl worker thread (at most one per request slot), sharing the destination's concurrency.
    private func openLanes(bell: Doorbell) -> [(lane: HTTPBulkLane, feed: CurlFeed)] {
        let count = max(1, min(sink.client.workerCount, sink.slots.limit))
        let capacity = (sink.slots.limit + count - 1) / count
        var lanes: [(lane: HTTPBulkLane, feed: CurlFeed)] = []
        for index in 0..<count {
            let lane = HTTPBulkLane(writer: HTTPBulkRequestWriter(sink: sink), drainBell: bell)
            guard let feed = sink.openBulkFeed(capacity: capacity, worker: index, source: lane) else { return [] }
            lanes.append((lane, feed))
        }
        return lanes
    }

    /// Hands each row of `batch` to the lane of its key (keyless rows in turn) and has the lanes send.
    private func dispatch(_ batch: QueuedRowBatch, sequence: Int, to lanes: [(lane: HTTPBulkLane, feed: CurlFeed)]) {
        var rows = Array(repeating: [BulkRowRef](), count: lanes.count)
        var index = 0
        _ = batch.visitRows(from: 0) { row in
            let keyHash = row.key.map(Self.hash)
            let lane = keyHash.map { Int(UInt(bitPattern: $0) % UInt(lanes.count)) } ?? index % lanes.count
            rows[lane].append(BulkRowRef(batch: sequence, index: index, keyHash: keyHash))
            index += 1
            return true
        }
        for (lane, rows) in zip(lanes, rows) where !rows.isEmpty {
            lane.lane.enqueue((sequence, batch), rows: rows)
            lane.feed.pull()
        }
    }

    /// FNV-1a of a key's bytes.
    private static func hash(_ key: UnsafeRawBufferPointer) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int(bitPattern: UInt(hash))
    }

    /// Moves the delivered prefix over what the lanes confirmed since; counts and times those deliveries.
    /// Returns the first failure a lane reported, if any.
    private func takeReports(from lanes: [(lane: HTTPBulkLane, feed: CurlFeed)], into prefix: inout DeliveredPrefix,
                             _ outcome: inout Outcome) -> String? {
        let now = clock().timeIntervalSince1970
        var failure: String?
        var confirmed = 0
        for lane in lanes {
            let report = lane.lane.take()
            for tag in report.confirmed {
                let receivedAt = prefix.confirm(tag: tag)
                metrics.latency.recordNanoseconds(Int64(max(0, now - receivedAt) * 1e9))
            }
            confirmed += report.confirmed.count
            failure = failure ?? report.failure
        }
        if confirmed > 0 {
            metrics.delivered.increment(by: confirmed)
            outcome.delivered += confirmed
            prefix.advance()
        }
        return failure
    }

    /// Stops the lanes, lets what is in flight finish (cancellation aborts it; what was not recorded is
    /// delivered again), and writes the final cursor.
    private func finish(_ lanes: [(lane: HTTPBulkLane, feed: CurlFeed)], bell: Doorbell, _ prefix: inout DeliveredPrefix,
                        _ outcome: inout Outcome) async {
        for lane in lanes {
            lane.lane.stop()
            lane.feed.close(abortReason: Task.isCancelled ? "the delivery worker was cancelled" : nil)
        }
        while !Task.isCancelled, lanes.contains(where: { $0.lane.inFlight > 0 }) {
            await bell.wait(timeout: limits.recordInterval)
        }
        let failure = takeReports(from: lanes, into: &prefix, &outcome)
        if outcome.endedBecause == nil { outcome.endedBecause = failure }
        if prefix.through > outcome.committed { await record(prefix.through, &outcome) }
        if outcome.endedBecause != nil { outcome.caughtUp = false }
    }

    /// Writes the cursor (not fsynced, like every delivery record: a crash only repeats deliveries). A failed
    /// write is tried again at the next record; the last error is kept.
    private func record(_ through: Int64, _ outcome: inout Outcome) async {
        if let error = await queue.writeBulkCursor(through, destination: destination, at: clock()) {
            outcome.recordError = error
        } else {
            outcome.committed = through
        }
    }

    /// One line when the drain ended with its figures (a drain that found nothing to do is only a debug line).
    private func log(_ outcome: Outcome, took: Duration) {
        logBulkDrainEnd(logger, delivered: outcome.delivered, endedBecause: outcome.endedBecause, recordError: outcome.recordError, figures: [
            "cursor": "\(outcome.committed)", "seconds": "\(took.seconds)", "reads": "\(outcome.reads)",
            "reading_seconds": "\(outcome.readingTook.seconds)",
        ])
    }
}

/// The rows of a bulk drain handed out and not yet passed by the cursor, and how far the delivered prefix reaches.
struct DeliveredPrefix {
    private struct Track {
        var sequence: Int
        var batch: QueuedRowBatch
        var done: [Bool]
        /// The first row not yet delivered.
        var front = 0
    }

    /// In read order (at most a window's worth of reads; an array, so that marking a row changes it in place).
    private var tracks: [Track] = []
    /// Every row at or below this id is delivered.
    private(set) var through: Int64
    /// Rows handed out and not yet passed, and the bytes of the batches they are in.
    private(set) var outstanding = 0
    private(set) var outstandingBytes = 0

    init(through: Int64) {
        self.through = through
    }

    /// The rows of `batch` (read after every batch added before) were handed out.
    mutating func add(_ batch: QueuedRowBatch, sequence: Int) {
        tracks.append(Track(sequence: sequence, batch: batch, done: Array(repeating: false, count: batch.count)))
        outstanding += batch.count
        outstandingBytes += batch.byteCount
    }

    /// Marks the row of request `tag` delivered; returns when it was accepted (seconds since 1970).
    mutating func confirm(tag: Int) -> Double {
        let (sequence, index) = BulkRowRef.from(tag: tag)
        guard let first = tracks.first?.sequence, sequence - first >= 0, sequence - first < tracks.count else { return 0 }
        tracks[sequence - first].done[index] = true
        return tracks[sequence - first].batch.receivedAt(at: index)
    }

    /// Moves `through` over the delivered rows at the front.
    mutating func advance() {
        while var track = tracks.first {
            let start = track.front
            while track.front < track.done.count, track.done[track.front] { track.front += 1 }
            if track.front > start {
                through = track.batch.deliveryID(at: track.front - 1)
                outstanding -= track.front - start
            }
            guard track.front == track.done.count else {
                tracks[0].front = track.front
                return
            }
            outstandingBytes -= track.batch.byteCount
            tracks.removeFirst()
        }
    }
}
