// A Kafka destination's backlog streamed from the outbox into the producer while nothing else of it is
// pending: no per-row Swift objects, the cursor moved as delivery reports confirm a contiguous prefix.
import CoreMetrics
import Foundation
import Logging
import RelayCore
import RelayKafka
import RelayOutbox

/// One bulk drain of a destination's queued rows, from a cursor with nothing pending below or beside it
/// (no retrying rows, nothing in flight). Rows are read in chunks inside read transactions and produced
/// in id order through one lane of the idempotent producer, so per-key order holds as on the scheduled
/// path (a key's rows share a partition; a failed message fails the later ones of its partition).
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
        /// Read transactions, and the time spent waiting for delivery reports with nothing to read.
        var reads = 0
        var waitedForReports: Duration = .zero
        /// From the start until the last row was read and produced (the rest waited for reports).
        var readingTook: Duration = .zero
        /// From the start until the first delivery report confirmed a message (the producer's warm-up:
        /// connections, the topic's metadata, the idempotent producer id).
        var firstConfirmedAfter: Duration?
    }

    let destination: String
    let reader: any QueuedRowReader
    let queue: any DeliveryQueue
    let encoder: KafkaBulkEncoder
    let limits: WorkerLimits
    let metrics: DeliveryMetrics
    let clock: @Sendable () -> Date
    /// True once the worker is stopping or paused.
    let shouldEnd: () -> Bool

    /// Rows read per read transaction.
    static let chunk = 2_000

    /// Drains from `cursor` (committed, nothing pending at or below it).
    func run(from cursor: Int64) async -> Outcome {
        var outcome = Outcome(committed: cursor, delivered: 0, caughtUp: false, endedBecause: nil)
        var lastRead = cursor
        var deliveredThrough = cursor
        var readAll = false
        let began = ContinuousClock.now
        var nextRecord = began + limits.recordInterval
        let lane = encoder.lane
        defer { lane.close() }
        while !Task.isCancelled {
            if shouldEnd() { break }
            if let failure = lane.failure {
                outcome.endedBecause = "delivery failed: \(failure)"
                break
            }
            if let refusal = encoder.refusal, refusal != .laneFull {
                outcome.endedBecause = Self.describe(refusal)
                break
            }
            encoder.clearRefusal()
            let room = lane.capacity - lane.outstanding
            if !readAll, room >= Self.chunk / 2 {
                let limit = min(room, Self.chunk)
                guard encoder.beginChunk(limit: limit) else {
                    outcome.endedBecause = lane.failure.map { "delivery failed: \($0)" } ?? "the producer is shutting down"
                    break
                }
                do {
                    let encoder = self.encoder
                    let visit = try await reader.visitQueued(destination: destination, afterID: lastRead, limit: limit) {
                        encoder.take($0)
                    }
                    encoder.endChunk()
                    lastRead = visit.lastTakenID ?? lastRead
                    readAll = visit.reachedEnd
                    outcome.reads += 1
                    if readAll { outcome.readingTook = ContinuousClock.now - began }
                    if encoder.refusal == .laneFull {
                        // The lane's slots or librdkafka's queue ran out mid-chunk: let reports free some.
                        let waitBegan = ContinuousClock.now
                        await lane.waitForReports(timeout: .milliseconds(10))
                        outcome.waitedForReports += ContinuousClock.now - waitBegan
                    }
                } catch {
                    encoder.endChunk()
                    outcome.endedBecause = "cannot read queued deliveries: \(error)"
                    break
                }
            } else if readAll, lane.outstanding == 0 {
                outcome.caughtUp = true
                break
            } else {
                let began = ContinuousClock.now
                await lane.waitForReports(timeout: limits.recordInterval)
                outcome.waitedForReports += ContinuousClock.now - began
            }
            outcome.delivered += takeConfirmed(lane, through: &deliveredThrough)
            if outcome.firstConfirmedAfter == nil, outcome.delivered > 0 { outcome.firstConfirmedAfter = ContinuousClock.now - began }
            if ContinuousClock.now >= nextRecord, deliveredThrough > outcome.committed {
                nextRecord = ContinuousClock.now + limits.recordInterval
                if await record(deliveredThrough) { outcome.committed = deliveredThrough }
            }
        }
        // Every produced message gets its report (librdkafka's message.timeout.ms bounds the wait); only
        // cancellation leaves at once (what was not recorded is delivered again).
        while !Task.isCancelled, !lane.allReported {
            await lane.waitForReports(timeout: limits.recordInterval)
        }
        outcome.delivered += takeConfirmed(lane, through: &deliveredThrough)
        if deliveredThrough > outcome.committed, await record(deliveredThrough) {
            outcome.committed = deliveredThrough
        }
        if outcome.endedBecause == nil, let failure = lane.failure { outcome.endedBecause = "delivery failed: \(failure)" }
        if outcome.endedBecause != nil { outcome.caughtUp = false }
        return outcome
    }

    /// Moves `deliveredThrough` over the newly confirmed prefix; counts and times those deliveries.
    private func takeConfirmed(_ lane: KafkaProduceLane, through deliveredThrough: inout Int64) -> Int {
        let now = clock().timeIntervalSince1970
        var last = deliveredThrough
        let count = lane.takeConfirmed { tag, receivedAt in
            last = tag
            metrics.latency.recordNanoseconds(Int64(max(0, now - receivedAt) * 1e9))
        }
        if count > 0 { metrics.delivered.increment(by: count) }
        deliveredThrough = last
        return count
    }

    /// Writes the cursor (not fsynced, like every delivery record: a crash only repeats deliveries).
    private func record(_ cursor: Int64) async -> Bool {
        do {
            try await queue.record([], destination: destination, deliveredThrough: cursor, at: clock())
            return true
        } catch {
            return false
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
