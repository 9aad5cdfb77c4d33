// The delivery loop of one destination: load pending rows, hand due batches to the sink, record outcomes.
// Delivered queued rows are recorded only by moving the destination's cursor past them; failures,
// dead letters and retried rows are written as row changes with the cursor, every `recordInterval`.
import CoreMetrics
import Foundation
import Logging
import RelayCore
import RelayOutbox
import Synchronization

/// Settings that bound a worker's memory and polling.
package struct WorkerLimits: Sendable {
    /// Most deliveries held in memory (in flight, waiting for a retry, or queued behind their key).
    package var window: Int = 20_000
    /// Most body bytes held in memory.
    package var windowBytes: Int = 64 << 20
    /// Longest sleep when nothing is due (new rows also ring the doorbell).
    package var idleTick: Duration = .milliseconds(500)
    /// How often retrying rows not in memory (replayed dead letters) are looked for.
    package var rescanInterval: Duration = .seconds(5)
    /// Outcomes and the cursor are written at most this often (one transaction each time): a crash
    /// repeats at most this much of the deliveries made just before it.
    package var recordInterval: Duration = .milliseconds(50)
    /// Records written at once regardless of `recordInterval`.
    package var recordBatch: Int = 2_000
    /// For a sink that keeps submission order (Kafka): while a batch is in flight, a batch of less than a
    /// quarter of the sink's batch size waits this long for more deliveries (many tiny batches cost far
    /// more per delivery than a few full ones; other sinks send at once, a slow request must not hold others).
    package var batchLinger: Duration = .milliseconds(10)
    /// Rows committed this soon after the last read wait for the next one, so a steady trickle is read
    /// (and sent) a few at a time instead of one by one: at 2,000 events/s that is one read per ~20 rows
    /// instead of one per commit, each read costing a wake-up, a query and a batch of its own.
    package var readLinger: Duration = .milliseconds(10)
    /// A Kafka or HTTP destination's backlog (a read that fills its page, nothing waiting for a retry) is
    /// streamed from the outbox to the destination without per-row scheduling (``KafkaBulkDrain``,
    /// ``HTTPBulkDrain``).
    package var bulkDrain = true
    /// Messages of a bulk drain handed to the producer and not yet confirmed (librdkafka holds a copy of
    /// each; their bytes are bounded by `windowBytes` too). Enough to cover the reports' round trip at
    /// full speed; below librdkafka's `queue.buffering.max.messages` (100,000).
    package var bulkWindow: Int = 65_536
    package init() {}
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
    /// Paused by the operator: nothing new is sent; in-flight batches finish and are recorded.
    private let paused: Atomic<Bool>
    private let finished = FinishLatch()
    /// Set when new rows may have been appended since the last read began.
    private let rowsAppended = Atomic<Bool>(true)
    /// Failed record attempts tolerated while stopping before the rest is left to be delivered again.
    private static let recordAttemptsWhenStopping = 3
    /// How the destination's backlog is drained in bulk, when its sink and store allow it (Kafka or HTTP, SQLite).
    private let bulk: (sink: BulkSink, reader: any QueuedRowReader)?

    private enum BulkSink {
        case kafka(KafkaSink)
        case http(HTTPSink)
    }
    /// After a bulk drain ended early, how long the scheduled path runs before the next one.
    private static let bulkPauseAfterEarlyEnd: Duration = .seconds(1)

    private enum Completion: Sendable {
        case loaded(rows: [PendingDelivery], asked: Int)
        case failedToLoad(error: String)
        case sent(batch: [PendingDelivery], changes: [DeliveryStateChange])
        case recorded(changes: [DeliveryStateChange], cursor: Int64?, error: String?)
    }

    /// What the loop keeps between iterations.
    private struct State {
        var schedule: DestinationSchedule
        var ledger: OutcomeLedger
        /// Highest queued id loaded so far.
        var loadedThrough: Int64
        /// Retrying rows may exist on disk that are not in memory yet (start-up): queued rows wait for them.
        var retryingBacklog = true
        /// A read of queued rows is under way (the loop goes on scheduling meanwhile).
        var loading = false
        /// The last read found no more queued rows.
        var caughtUp = false
        var lastLoad = ContinuousClock.now
        var lastBatchStart = ContinuousClock.now
        /// Deliveries are ready but wait for a fuller batch (`batchLinger`).
        var lingering = false
        /// Rows were appended but their read waits out `readLinger`.
        var readLingering = false
        var lastRescan = ContinuousClock.now
        var batchesInFlight = 0
        /// Reads of the outbox failing in a row: back-off and rate-limited logging.
        var readFailures = RepeatedFailure()
        /// No read before this (back-off after a failed read).
        var nextReadAllowed = ContinuousClock.now
        var recordFailures = RepeatedFailure()
        /// No bulk drain before this (after one that ended early, so a failing destination is not retried
        /// in bulk at once).
        var bulkAllowedAfter = ContinuousClock.now
    }

    init(destination: DestinationConfig, sink: any Sink, queue: any DeliveryQueue, retryPolicy: RetryPolicy,
         limits: WorkerLimits, clock: @escaping @Sendable () -> Date, paused: Bool = false, logger: Logger) {
        self.paused = Atomic(paused)
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
        if limits.bulkDrain, let reader = queue as? any QueuedRowReader {
            if let sink = sink as? KafkaSink {
                bulk = (.kafka(sink), reader)
            } else if let sink = sink as? HTTPSink {
                bulk = (.http(sink), reader)
            } else {
                bulk = nil
            }
        } else {
            bulk = nil
        }
    }

    /// New rows were committed for this destination.
    func wake() {
        rowsAppended.store(true, ordering: .releasing)
        doorbell.ring()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        doorbell.ring()
    }

    var isPaused: Bool { paused.load(ordering: .relaxed) }

    func setPaused(_ value: Bool) {
        paused.store(value, ordering: .relaxed)
        doorbell.ring()
    }

    /// Returns once ``run()`` has returned.
    func waitUntilFinished() async {
        await finished.wait()
    }

    /// Runs until ``stop()`` (finishing what is in flight and recording it) or until its task is cancelled
    /// (at once: what was not recorded stays pending and is delivered again, at-least-once).
    func run() async {
        defer { finished.open() }
        guard let committed = await committedCursor() else { return }
        var state = State(schedule: DestinationSchedule(ordered: sink.keepsSubmissionOrder),
                          ledger: OutcomeLedger(committed: committed), loadedThrough: committed)
        await withTaskGroup(of: Void.self) { group in
            while !Task.isCancelled {
                let now = clock()
                let taken = completions.withLock { list in defer { list.removeAll() }; return list }
                for (index, completion) in taken.enumerated() {
                    // Each can be thousands of rows: other tasks (the listener's too) get the pool in between.
                    if index > 0 { await Task.yield() }
                    apply(completion, to: &state, now: now)
                }
                let isStopping = stopping.load(ordering: .relaxed)
                if !isStopping {
                    await startLoading(&state, now: now, group: &group)
                    if canDrainInBulk(state) {
                        await drainInBulk(&state)
                        continue
                    }
                    if state.caughtUp, !state.loading, ContinuousClock.now - state.lastRescan >= limits.rescanInterval {
                        state.lastRescan = ContinuousClock.now
                        _ = await loadRetrying(&state, now: now)
                    }
                    state.lingering = false
                    while !isPaused && state.batchesInFlight < sink.maxConcurrentBatches {
                        if shouldLinger(state) {
                            state.lingering = true
                            break
                        }
                        let batch = state.schedule.takeReady(limit: sink.maxBatchSize, now: now)
                        if batch.isEmpty { break }
                        state.batchesInFlight += 1
                        state.lastBatchStart = ContinuousClock.now
                        if sink.keepsSubmissionOrder {
                            // Runs until its first suspension right here, so batches reach the sink in this order.
                            group.addImmediateTask { await self.send(batch) }
                        } else {
                            group.addTask { await self.send(batch) }
                        }
                    }
                }
                startRecordIfDue(&state, stopping: isStopping, group: &group)
                if isStopping && state.batchesInFlight == 0 && !state.ledger.recording && !state.loading
                    && (!state.ledger.hasSomethingToRecord || state.ledger.failedWhileStopping >= Self.recordAttemptsWhenStopping) {
                    break
                }
                await doorbell.wait(timeout: waitTimeout(state))
            }
        }
    }

    /// The committed cursor, read again with back-off while the outbox cannot answer (nil when stopped or
    /// cancelled first).
    private func committedCursor() async -> Int64? {
        var failures = RepeatedFailure()
        while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
            do {
                return try await queue.deliveredThrough(destination: destination.name)
            } catch {
                if Task.isCancelled { return nil }
                let decision = failures.failed(now: .now)
                logFailure("cannot read the delivery cursor", error: "\(error)", decision)
                await doorbell.wait(timeout: decision.delay)
            }
        }
        return nil
    }

    /// Logs a retried failure when its rate limit allows, with the count of the ones left out.
    private func logFailure(_ message: Logger.Message, error: String, _ decision: RepeatedFailure.Decision) {
        guard decision.log, !Task.isCancelled else { return }
        var metadata: Logger.Metadata = ["error": "\(error)", "retry_in": "\(decision.delay)"]
        if decision.suppressed > 0 { metadata["suppressed"] = "\(decision.suppressed)" }
        logger.error(message, metadata: metadata)
    }

    /// Notes a failed read of the outbox: no read before the back-off has passed.
    private func readFailed(_ state: inout State, _ message: Logger.Message, error: String) {
        let decision = state.readFailures.failed(now: .now)
        state.nextReadAllowed = ContinuousClock.now + decision.delay
        logFailure(message, error: error, decision)
    }

    private func waitTimeout(_ state: State) -> Duration {
        var timeout = limits.idleTick
        if let due = state.schedule.nextDue {
            timeout = min(timeout, .milliseconds(Int64(max(0, due.timeIntervalSince(clock())) * 1000) + 1))
        }
        if state.ledger.hasSomethingToRecord && !state.ledger.recording {
            timeout = min(timeout, max(.zero, state.ledger.nextRecord - ContinuousClock.now))
        }
        if state.lingering {
            timeout = min(timeout, max(.zero, state.lastBatchStart + limits.batchLinger - ContinuousClock.now))
        }
        if state.readLingering {
            timeout = min(timeout, max(.zero, state.lastLoad + limits.readLinger - ContinuousClock.now))
        }
        if state.readFailures.consecutive > 0 {
            timeout = max(.milliseconds(1), min(timeout, state.nextReadAllowed - ContinuousClock.now))
        }
        return timeout
    }

    private func shouldLinger(_ state: State) -> Bool {
        sink.keepsSubmissionOrder && state.batchesInFlight > 0
            && state.schedule.readyCount < sink.maxBatchSize / 4
            && ContinuousClock.now - state.lastBatchStart < limits.batchLinger
    }

    /// Starts reading the next queued rows when the window has room and no read is under way; their rows
    /// join the schedule when the read completes (a backlog is read while the loop goes on sending; once
    /// caught up, new rows are read in place). Retrying rows left on disk are loaded first (start-up).
    private func startLoading(_ state: inout State, now: Date, group: inout TaskGroup<Void>) async {
        guard ContinuousClock.now >= state.nextReadAllowed else { return }
        if state.retryingBacklog {
            guard await loadRetrying(&state, now: now) else { return }
            state.retryingBacklog = false
        }
        guard !state.loading, hasRoom(state) else { return }
        // Once caught up, read again when rows were appended, or every idle tick in case a wake was missed.
        // A backlog to drain in bulk: what is loaded goes out first, then the bulk drain takes over.
        guard !prefersBulk(state) else { return }
        let appended = rowsAppended.exchange(false, ordering: .acquiringAndReleasing)
        guard !state.caughtUp || appended || ContinuousClock.now - state.lastLoad >= limits.idleTick else { return }
        if state.caughtUp, appended, ContinuousClock.now - state.lastLoad < limits.readLinger {
            rowsAppended.store(true, ordering: .releasing)
            state.readLingering = true
            return
        }
        state.readLingering = false
        state.lastLoad = ContinuousClock.now
        let asked = min(limits.window - state.schedule.count, 5_000)
        let after = state.loadedThrough
        state.loading = true
        if state.caughtUp {
            // A few new rows: read them here, so they go out in this same turn of the loop.
            apply(await load(after: after, limit: asked), to: &state, now: now)
            return
        }
        group.addTask {
            let completion = await self.load(after: after, limit: asked)
            self.completions.withLock { $0.append(completion) }
            self.doorbell.ring()
        }
    }

    // MARK: - Bulk drain

    /// A backlog is waiting (the last read filled its page) and nothing waits for a retry: loading stops,
    /// so what is in memory drains and the bulk drain can start.
    private func prefersBulk(_ state: State) -> Bool {
        guard let bulk, !state.caughtUp, state.schedule.nextDue == nil, !isPaused, state.readFailures.consecutive == 0,
              ContinuousClock.now >= state.bulkAllowedAfter else { return false }
        if case .http(let sink) = bulk.sink { return sink.acceptsBulk }
        return true
    }

    /// Nothing of the destination is pending in memory or unwritten: the cursor is all there is.
    private func canDrainInBulk(_ state: State) -> Bool {
        prefersBulk(state) && !state.retryingBacklog && !state.loading && state.schedule.count == 0
            && state.batchesInFlight == 0 && !state.ledger.hasSomethingToRecord && !state.ledger.recording
    }

    /// Runs a ``KafkaBulkDrain`` or an ``HTTPBulkDrain`` from the committed cursor, then hands the
    /// destination back to the scheduled path at the cursor the drain committed.
    private func drainInBulk(_ state: inout State) async {
        guard let bulk else { return }
        let shouldEnd = { [self] in stopping.load(ordering: .relaxed) || isPaused }
        let ended: (committed: Int64, caughtUp: Bool, early: Bool)
        switch bulk.sink {
        case .kafka(let sink):
            guard let encoder = sink.bulkEncoder(capacity: limits.bulkWindow) else {
                state.bulkAllowedAfter = ContinuousClock.now + Self.bulkPauseAfterEarlyEnd
                return
            }
            let drain = KafkaBulkDrain(destination: destination.name, reader: bulk.reader, queue: queue, encoder: encoder,
                                       limits: limits, metrics: metrics, clock: clock, logger: logger, shouldEnd: shouldEnd)
            let outcome = await drain.run(from: state.ledger.cursor.committed)
            ended = (outcome.committed, outcome.caughtUp, outcome.endedBecause != nil)
        case .http(let sink):
            let drain = HTTPBulkDrain(destination: destination.name, reader: bulk.reader, queue: queue, sink: sink,
                                      limits: limits, metrics: metrics, clock: clock, logger: logger, shouldEnd: shouldEnd)
            let outcome = await drain.run(from: state.ledger.cursor.committed)
            ended = (outcome.committed, outcome.caughtUp, outcome.endedBecause != nil)
        }
        if ended.early { state.bulkAllowedAfter = ContinuousClock.now + Self.bulkPauseAfterEarlyEnd }
        // Rows after the committed cursor (a failed one, delivered ones behind it) are read again.
        state.ledger = OutcomeLedger(committed: ended.committed)
        state.loadedThrough = ended.committed
        state.caughtUp = ended.caughtUp
        state.lastLoad = ContinuousClock.now
    }

    private func load(after: Int64, limit: Int) async -> Completion {
        do {
            return .loaded(rows: try await queue.queuedDeliveries(destination: destination.name, afterID: after, limit: limit), asked: limit)
        } catch {
            return .failedToLoad(error: "\(error)")
        }
    }

    /// Bounded by rows in memory, their bytes, and queued rows loaded but not yet passed by the cursor
    /// (one delivery stuck in flight holds the cursor while later ones finish).
    private func hasRoom(_ state: State) -> Bool {
        state.schedule.count < limits.window && state.schedule.bodyBytes < limits.windowBytes
            && state.ledger.cursor.outstanding < limits.window * 4
    }

    /// Loads retrying rows that are not in memory (left by a previous run, or replayed dead letters);
    /// true when every one of them was seen.
    private func loadRetrying(_ state: inout State, now: Date) async -> Bool {
        var after: Int64 = 0
        while hasRoom(state) {
            let rows: [PendingDelivery]
            do {
                rows = try await queue.retryingDeliveries(destination: destination.name, afterID: after, limit: 5_000)
                state.readFailures.succeeded()
            } catch {
                readFailed(&state, "cannot read retrying deliveries", error: "\(error)")
                return false
            }
            for row in rows where !state.schedule.contains(row.item.deliveryID) && !state.ledger.isUnsettled(row.item.deliveryID) {
                state.schedule.add(row, now: now)
            }
            guard let last = rows.last, rows.count == 5_000 else { return true }
            after = last.item.deliveryID
        }
        return false
    }

    /// Runs one batch through the sink and turns its outcomes into state changes (recorded by the loop).
    private func send(_ batch: [PendingDelivery]) async {
        let outcomes = await sink.deliver(batch.map(\.item))
        let now = clock()
        var changes: [DeliveryStateChange] = []
        changes.reserveCapacity(batch.count)
        await PoolPacer.slices(of: batch.count) { range in
            for index in range {
                let pending = batch[index]
                let outcome = index < outcomes.count ? outcomes[index] : .retry(after: nil, reason: "sink returned no outcome")
                let attempt = pending.attempts + (outcome.countsAsAttempt ? 1 : 0)
                let id = pending.item.deliveryID
                switch retryPolicy.verdict(on: outcome, attempt: attempt, createdAt: pending.createdAt, now: now) {
                case .delivered:
                    changes.append(DeliveryStateChange(deliveryID: id, attempts: attempt, outcome: .delivered))
                    metrics.delivered.increment()
                    metrics.latency.recordNanoseconds(Int64(max(0, now.timeIntervalSince(pending.item.receivedAt)) * 1e9))
                case .retry(let at, let reason):
                    changes.append(DeliveryStateChange(deliveryID: id, attempts: attempt, outcome: .retry(nextAttemptAt: at, error: reason)))
                    metrics.retried.increment()
                case .refused(let reason), .gaveUp(let reason):
                    changes.append(DeliveryStateChange(deliveryID: id, attempts: attempt, outcome: .dead(reason: reason)))
                    metrics.dead.increment()
                    logger.warning("delivery dead-lettered", metadata: ["delivery_id": "\(id)", "reason": "\(reason)"])
                }
            }
        }
        completions.withLock { $0.append(.sent(batch: batch, changes: changes)) }
        doorbell.ring()
    }

    private func apply(_ completion: Completion, to state: inout State, now: Date) {
        switch completion {
        case .loaded(let rows, let asked):
            state.loading = false
            state.readFailures.succeeded()
            state.caughtUp = rows.count < asked
            for row in rows {
                state.loadedThrough = row.item.deliveryID
                state.ledger.loaded(row.item.deliveryID)
                state.schedule.add(row, now: now)
            }
        case .failedToLoad(let error):
            state.loading = false
            state.caughtUp = false
            readFailed(&state, "cannot read pending deliveries", error: error)
        case .sent(let batch, let changes):
            state.batchesInFlight -= 1
            for (pending, change) in zip(batch, changes) {
                let id = change.deliveryID
                state.ledger.note(change, of: pending)
                switch change.outcome {
                case .delivered, .dead:
                    state.schedule.finish(id, now: now)
                case .retry(let at, _):
                    state.schedule.retry(id, due: at, attempts: change.attempts, now: now)
                }
            }
        case .recorded(let changes, let cursor, let error):
            state.ledger.recorded(changes, cursor: cursor, ok: error == nil, stopping: stopping.load(ordering: .relaxed))
            if let error {
                logFailure("cannot record delivery outcomes; will try again (the rows stay pending meanwhile)", error: error,
                           state.recordFailures.failed(now: .now))
            } else {
                state.recordFailures.succeeded()
            }
        }
    }

    /// Writes what is waiting (changes and the cursor) in one transaction, when due.
    private func startRecordIfDue(_ state: inout State, stopping: Bool, group: inout TaskGroup<Void>) {
        guard let (changes, cursor) = state.ledger.takeRecord(stopping: stopping, limits: limits,
                                                              attemptsWhenStopping: Self.recordAttemptsWhenStopping) else { return }
        group.addTask {
            var failure: String?
            do {
                try await self.queue.record(changes, destination: self.destination.name, deliveredThrough: cursor, at: self.clock())
            } catch {
                failure = "\(error)"
            }
            self.completions.withLock { $0.append(.recorded(changes: changes, cursor: cursor, error: failure)) }
            self.doorbell.ring()
        }
    }
}
