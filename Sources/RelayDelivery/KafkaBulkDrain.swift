// A Kafka destination's backlog streamed from the outbox into the producer while nothing else of it is
// pending: no per-row Swift objects, the cursor moved as delivery reports confirm a contiguous prefix.
import CoreMetrics
import Foundation
import Logging
import RelayCore
import RelayKafka
import RelayOutbox

/// One bulk drain of a destination's queued rows, from a cursor with nothing pending below or beside it
/// (no retrying rows, nothing in flight). Rows are read in batches inside read transactions and produced
/// in id order through one lane of the idempotent producer, so per-key order holds as on the scheduled
/// path (a key's rows share a partition; a failed message fails the later ones of its partition). The
/// two overlap: while one batch is produced on the drain's own thread, the store reads the next.
///
/// The drain ends when it has caught up, at the first failed delivery report, at a row the lane
/// refuses (too large, ...), when the worker stops or pauses, or when a read fails. It then waits for
/// every outstanding report and writes the cursor through the delivered prefix: every row after it
/// (the failed one, and delivered ones behind it) goes to the scheduled path, which owns retries,
/// back-off, dead letters and per-key order. At-least-once: a delivered row past a failure, or past the
/// last cursor written before a crash, is delivered again.
struct KafkaBulkDrain {
    struct Outcome {
        /// The cursor as committed when the drain ended.
        var committed: Int64
        var delivered: Int
        /// Every queued row was read and delivered.
        var caughtUp: Bool
        /// Why the drain ended early (nil when it caught up, or was stopped).
        var endedBecause: String?
        /// Read transactions; steps that produced part of a read (each within the window); the time spent
        /// waiting for delivery reports with nothing to read.
        var reads = 0
        var chunks = 0
        var waitedForReports: Duration = .zero
        /// From the start until the last row was read and produced (the rest waited for reports).
        var readingTook: Duration = .zero
        /// From the start until the first delivery report confirmed a message (the producer's warm-up:
        /// connections, the topic's metadata, the idempotent producer id).
        var firstConfirmedAfter: Duration?
        /// Why the last write of the cursor failed, if one did.
        var recordError: String?
    }

    let destination: String
    let reader: any QueuedRowReader
    let queue: any DeliveryQueue
    let encoder: KafkaBulkEncoder
    let limits: WorkerLimits
    let metrics: DeliveryMetrics
    let clock: @Sendable () -> Date
    let logger: Logger
    /// True once the worker is stopping or paused.
    let shouldEnd: () -> Bool

    /// Rows read per read transaction.
    static let chunk = QueuedBatchReads.rowsPerRead
    /// Produces batches while the next read runs (the reader's thread only reads and copies).
    private let producing = DispatchQueue(label: "bulk-drain")

    /// Drains from `cursor` (committed, nothing pending at or below it).
    func run(from cursor: Int64) async -> Outcome {
        var progress = Progress(outcome: Outcome(committed: cursor, delivered: 0, caughtUp: false, endedBecause: nil),
                                lastRead: cursor, deliveredThrough: cursor, reads: QueuedBatchReads(reader: reader, destination: destination))
        let lane = encoder.lane
        defer { lane.close() }
        var nextRecord = progress.began + limits.recordInterval
        while !Task.isCancelled, !shouldEnd(), progress.outcome.endedBecause == nil {
            if let failure = lane.failure {
                progress.outcome.endedBecause = "delivery failed: \(failure)"
                break
            }
            // Bounded like the scheduled path's window: in messages, and in the bytes librdkafka holds.
            let room = lane.capacity - lane.outstanding
            let byteRoom = limits.windowBytes - lane.outstandingBytes
            if !progress.readAll, room >= Self.chunk / 2, byteRoom > 0 {
                await produceNext(limit: min(room, Self.chunk), byteBudget: byteRoom, &progress)
                if progress.readAll { progress.outcome.readingTook = ContinuousClock.now - progress.began }
            } else if progress.readAll, lane.outstanding == 0 {
                progress.outcome.caughtUp = true
                break
            } else {
                await waitForReports(timeout: limits.recordInterval, &progress)
            }
            takeConfirmed(&progress)
            if ContinuousClock.now >= nextRecord, progress.deliveredThrough > progress.outcome.committed {
                nextRecord = ContinuousClock.now + limits.recordInterval
                await record(&progress)
            }
        }
        await progress.reads.cancel()
        let outcome = await finish(progress)
        log(outcome, from: cursor, took: ContinuousClock.now - progress.began)
        return outcome
    }

    /// One line when the drain started (once it produced something) and one when it ended, with its
    /// figures; a drain that found nothing to do is only a debug line.
    private func log(_ outcome: Outcome, from cursor: Int64, took: Duration) {
        logBulkDrainEnd(logger, delivered: outcome.delivered, endedBecause: outcome.endedBecause, recordError: outcome.recordError, figures: [
            "cursor": "\(outcome.committed)", "seconds": "\(took.seconds)", "reads": "\(outcome.reads)", "chunks": "\(outcome.chunks)",
            "reading_seconds": "\(outcome.readingTook.seconds)", "waited_for_reports_seconds": "\(outcome.waitedForReports.seconds)",
            "first_report_after_seconds": "\(outcome.firstConfirmedAfter?.seconds ?? 0)",
        ])
    }

    /// What one drain keeps between steps.
    private struct Progress {
        var outcome: Outcome
        /// The id of the last row produced.
        var lastRead: Int64
        /// The end of the delivered prefix.
        var deliveredThrough: Int64
        /// The batch being produced, and how many of its rows went.
        var batch = QueuedRowBatch()
        var produced = 0
        /// Every queued row was read and produced: the last read reached the end, and its batch went.
        var readAll: Bool { batch.reachedEnd && produced == batch.count }
        /// The reads, the one after `batch` running while it is produced.
        var reads: QueuedBatchReads
        let began = ContinuousClock.now
    }

    /// Produces up to `limit` rows of the current batch (fewer when their messages would pass
    /// `byteBudget`) into slots reserved for them, taking the next batch when this one is done.
    private func produceNext(limit: Int, byteBudget: Int, _ progress: inout Progress) async {
        if progress.produced == progress.batch.count {
            guard await takeNextBatch(&progress) else { return }
        }
        guard encoder.beginChunk(limit: min(limit, progress.batch.count - progress.produced), byteBudget: byteBudget) else {
            progress.outcome.endedBecause = encoder.lane.failure.map { "delivery failed: \($0)" } ?? "the producer is shutting down"
            return
        }
        let (encoder, batch, start) = (self.encoder, progress.batch, progress.produced)
        let taken = await withCheckedContinuation { continuation in
            producing.async { continuation.resume(returning: batch.visitRows(from: start) { encoder.take($0) }) }
        }
        encoder.endChunk()
        progress.outcome.chunks += 1
        progress.produced += taken
        if taken > 0 { progress.lastRead = batch.deliveryID(at: progress.produced - 1) }
        switch encoder.refusal {
        case nil:
            break
        case .laneFull:
            // The lane's slots or librdkafka's queue ran out mid-chunk: let reports free some.
            encoder.clearRefusal()
            await waitForReports(timeout: .milliseconds(10), &progress)
        case let refusal?:
            progress.outcome.endedBecause = Self.describe(refusal)
        }
    }

    /// Takes the next batch (read while the last one was produced); false when there is nothing left to
    /// produce or the read failed.
    private func takeNextBatch(_ progress: inout Progress) async -> Bool {
        let batch: QueuedRowBatch
        switch await progress.reads.take(after: progress.lastRead) {
        case .success(let read): batch = read
        case .failure(let error):
            progress.outcome.endedBecause = "cannot read queued deliveries: \(error)"
            return false
        }
        if progress.outcome.reads == 0, !batch.isEmpty {
            logger.info("draining backlog in bulk", metadata: ["from_delivery_id": "\(progress.lastRead)"])
        }
        progress.outcome.reads += 1
        progress.batch = batch
        progress.produced = 0
        return !batch.isEmpty
    }

    private func waitForReports(timeout: Duration, _ progress: inout Progress) async {
        let began = ContinuousClock.now
        await encoder.waitForReports(timeout: timeout)
        progress.outcome.waitedForReports += ContinuousClock.now - began
    }

    /// Waits for every report still out (librdkafka's `message.timeout.ms` bounds the wait; cancellation
    /// leaves at once, and what was not recorded is delivered again) and writes the final cursor.
    private func finish(_ progress: Progress) async -> Outcome {
        var progress = progress
        while !Task.isCancelled, !encoder.lane.allReported {
            await encoder.waitForReports(timeout: limits.recordInterval)
        }
        takeConfirmed(&progress)
        if progress.deliveredThrough > progress.outcome.committed { await record(&progress) }
        if progress.outcome.endedBecause == nil, let failure = encoder.lane.failure {
            progress.outcome.endedBecause = "delivery failed: \(failure)"
        }
        if progress.outcome.endedBecause != nil { progress.outcome.caughtUp = false }
        return progress.outcome
    }

    /// Moves the delivered prefix over what the lane confirmed since; counts and times those deliveries.
    private func takeConfirmed(_ progress: inout Progress) {
        let now = clock().timeIntervalSince1970
        var last = progress.deliveredThrough
        let count = encoder.lane.takeConfirmed { tag, receivedAt in
            last = tag
            metrics.latency.recordNanoseconds(Int64(max(0, now - receivedAt) * 1e9))
        }
        guard count > 0 else { return }
        metrics.delivered.increment(by: count)
        progress.deliveredThrough = last
        progress.outcome.delivered += count
        if progress.outcome.firstConfirmedAfter == nil { progress.outcome.firstConfirmedAfter = ContinuousClock.now - progress.began }
    }

    /// Writes the cursor through the delivered prefix (not fsynced, like every delivery record: a crash
    /// only repeats deliveries). A failed write is tried again at the next record; the last error is kept.
    private func record(_ progress: inout Progress) async {
        if let error = await queue.writeBulkCursor(progress.deliveredThrough, destination: destination, at: clock()) {
            progress.outcome.recordError = error
        } else {
            progress.outcome.committed = progress.deliveredThrough
        }
    }

    private static func describe(_ refusal: KafkaBulkEncoder.Refusal) -> String {
        switch refusal {
        case .laneFull: "the producer's queue is full"
        case .oversized(let id): "delivery \(id) exceeds message.max.bytes"
        case .refused(let id, let reason): "delivery \(id) refused by the producer: \(reason)"
        }
    }
}
