// The delivery loop of one destination: load pending rows, hand due batches to the sink, record outcomes.
import Foundation
import Logging
import RelayCore
import RelayOutbox
import Synchronization

/// Settings that bound a worker's memory and polling.
public struct WorkerLimits: Sendable {
    /// Most deliveries held in memory (in flight, waiting for a retry, or queued behind their key).
    public var window: Int = 20_000
    /// Most body bytes held in memory.
    public var windowBytes: Int = 64 << 20
    /// Longest sleep when nothing is due (new rows also ring the doorbell).
    public var idleTick: Duration = .milliseconds(500)
    /// How often rows behind the cursor (e.g. replayed dead letters) are looked for.
    public var rescanInterval: Duration = .seconds(5)
    public init() {}
}

final class DestinationWorker: Sendable {
    let destination: DestinationConfig
    let sink: any Sink
    let queue: any DeliveryQueue
    let retryPolicy: RetryPolicy
    let clock: @Sendable () -> Date
    let logger: Logger
    let doorbell = Doorbell()
    let limits: WorkerLimits
    private let metrics: DeliveryMetrics
    private let completions = Mutex<[Completion]>([])
    private let stopping = Atomic<Bool>(false)

    private struct Completion: Sendable {
        var ids: [Int64]
        var results: [(id: Int64, outcome: RecordedOutcome, attempts: Int)]?
    }

    init(destination: DestinationConfig, sink: any Sink, queue: any DeliveryQueue, retryPolicy: RetryPolicy,
         limits: WorkerLimits, clock: @escaping @Sendable () -> Date, logger: Logger) {
        self.destination = destination
        self.sink = sink
        self.queue = queue
        self.retryPolicy = retryPolicy
        self.limits = limits
        self.clock = clock
        var logger = logger
        logger[metadataKey: "destination"] = "\(destination.name)"
        self.logger = logger
        self.metrics = DeliveryMetrics(destination: destination.name)
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        doorbell.ring()
    }

    func run() async {
        var schedule = DestinationSchedule()
        var cursor: Int64 = 0
        var lastRescan = ContinuousClock.now
        var batchesInFlight = 0
        await withTaskGroup(of: Void.self) { group in
            while true {
                let now = clock()
                for completion in completions.withLock({ list in defer { list.removeAll() }; return list }) {
                    batchesInFlight -= 1
                    apply(completion, to: &schedule, now: now)
                }
                let isStopping = stopping.load(ordering: .relaxed)
                if isStopping && batchesInFlight == 0 { break }
                if !isStopping {
                    let caughtUp = await refill(&schedule, cursor: &cursor, now: now)
                    if caughtUp, ContinuousClock.now - lastRescan >= limits.rescanInterval {
                        lastRescan = ContinuousClock.now
                        await rescanBehindCursor(&schedule, cursor: cursor, now: now)
                    }
                    while batchesInFlight < sink.maxConcurrentBatches {
                        let batch = schedule.takeReady(limit: sink.maxBatchSize, now: now, runsOfAKey: sink.keepsOrderWithinBatch)
                        if batch.isEmpty { break }
                        batchesInFlight += 1
                        group.addTask { await self.deliver(batch) }
                    }
                }
                var timeout = limits.idleTick
                if let due = schedule.nextDue {
                    let untilDue = Duration.milliseconds(Int64(max(0, due.timeIntervalSince(clock())) * 1000) + 1)
                    timeout = min(timeout, untilDue)
                }
                await doorbell.wait(timeout: timeout)
            }
        }
    }

    /// Loads rows past the cursor while the window has room; true when the table had no more.
    private func refill(_ schedule: inout DestinationSchedule, cursor: inout Int64, now: Date) async -> Bool {
        while schedule.count < limits.window && schedule.bodyBytes < limits.windowBytes {
            let room = min(limits.window - schedule.count, 5_000)
            let rows: [PendingDelivery]
            do {
                rows = try await queue.pendingDeliveries(destination: destination.name, afterID: cursor, limit: room)
            } catch {
                logger.error("cannot read pending deliveries", metadata: ["error": "\(error)"])
                return false
            }
            for row in rows {
                cursor = max(cursor, row.item.deliveryID)
                schedule.add(row, now: now)
            }
            if rows.count < room { return true }
        }
        return false
    }

    /// Picks up pending rows with ids below the cursor that are not in memory (replayed dead letters).
    private func rescanBehindCursor(_ schedule: inout DestinationSchedule, cursor: Int64, now: Date) async {
        var after: Int64 = 0
        while after < cursor, schedule.count < limits.window {
            guard let rows = try? await queue.pendingDeliveries(destination: destination.name, afterID: after, limit: 5_000), !rows.isEmpty
            else { return }
            for row in rows where row.item.deliveryID <= cursor && !schedule.contains(row.item.deliveryID) {
                schedule.add(row, now: now)
            }
            after = rows[rows.count - 1].item.deliveryID
        }
    }

    /// Runs one batch through the sink and records the outcomes before reporting back.
    private func deliver(_ batch: [PendingDelivery]) async {
        let outcomes = await sink.deliver(batch.map(\.item))
        let now = clock()
        var results: [(id: Int64, outcome: RecordedOutcome, attempts: Int)] = []
        results.reserveCapacity(batch.count)
        for (index, pending) in batch.enumerated() {
            let attempt = pending.attempts + 1
            let outcome = index < outcomes.count ? outcomes[index] : .retry(after: nil, reason: "sink returned no outcome")
            switch outcome {
            case .delivered:
                results.append((pending.item.deliveryID, .delivered, attempt))
                metrics.delivered.increment()
                metrics.latency.recordNanoseconds(Int64(max(0, now.timeIntervalSince(pending.item.receivedAt)) * 1e9))
            case .dead(let reason):
                results.append((pending.item.deliveryID, .dead(reason: reason), attempt))
            case .retry(let after, let reason):
                switch retryPolicy.decide(attempt: attempt, createdAt: pending.createdAt, now: now, retryAfter: after, error: reason) {
                case .retry(let at):
                    results.append((pending.item.deliveryID, .retry(nextAttemptAt: at, error: reason), attempt))
                    metrics.retried.increment()
                case .giveUp(let why):
                    results.append((pending.item.deliveryID, .dead(reason: why), attempt))
                }
            }
        }
        for result in results {
            if case .dead(let reason) = result.outcome {
                metrics.dead.increment()
                logger.warning("delivery dead-lettered", metadata: ["delivery_id": "\(result.id)", "reason": "\(reason)"])
            }
        }
        var recorded = true
        do {
            try await queue.record(results.map { ($0.id, $0.outcome) }, at: now)
        } catch {
            // Rows stay pending on disk; they are tried again (at-least-once), never lost.
            logger.error("cannot record delivery outcomes; will retry them", metadata: ["error": "\(error)"])
            recorded = false
        }
        let completion = Completion(ids: batch.map(\.item.deliveryID), results: recorded ? results : nil)
        completions.withLock { $0.append(completion) }
        doorbell.ring()
    }

    private func apply(_ completion: Completion, to schedule: inout DestinationSchedule, now: Date) {
        guard let results = completion.results else {
            for id in completion.ids { schedule.retry(id, due: now.addingTimeInterval(1), attempts: schedule.rows[id]?.attempts ?? 0, now: now) }
            return
        }
        for result in results {
            switch result.outcome {
            case .delivered, .dead: schedule.finish(result.id, now: now)
            case .retry(let at, _): schedule.retry(result.id, due: at, attempts: result.attempts, now: now)
            }
        }
    }
}
