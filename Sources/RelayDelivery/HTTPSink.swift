// HTTPSink: delivers each item as one signed CloudEvents request to an HTTP endpoint, behind a concurrency limit and a
// circuit breaker (request building, outcome classification and the limit each live in a file of their own).
import Foundation
import Logging
import RelayCore
import RelayCurl
import Synchronization

/// An HTTP destination (SPEC §6).
///
/// Each item becomes one request to the destination's URL with its method: the body is the
/// event JSON verbatim; the headers are the destination's static headers (sorted by name), the
/// route's rendered headers (replacing static ones of the same name), the CloudEvents
/// binary-mode attributes as `ce-*`, `Content-Type: application/json`, and with a signing key
/// the Standard Webhooks trio `webhook-id` (the event id), `webhook-timestamp` and
/// `webhook-signature`. Static or route headers named like one the sink sets itself are dropped.
/// Redirects are never followed.
///
/// Outcomes: 2xx is `.delivered`. A status in `retryOnStatus` and transport failures are
/// `.retry`, with the `Retry-After` hint when the answer had one. Redirects, other statuses,
/// certificate failures and headers that cannot be sent (CR, LF or NUL in a value) are `.dead`. Items of a batch are sent concurrently, at most
/// `concurrency` at a time for the whole destination (all batches together), and only while
/// the destination's ``CircuitBreaker`` lets them: while it is open items are answered
/// `.retry` without a request being made.
package final class HTTPSink: Sink {
    /// How much of an error response's body a reason quotes.
    package static let bodyExcerptBytes = 200

    /// The destination's name in the routing table (used in logs).
    package let name: String
    package let destination: HTTPDestination
    package let maxBatchSize: Int
    package let maxConcurrentBatches: Int
    /// What a batch keeps of `concurrency` while another batch runs or waits: an even share between the
    /// concurrent batches, so that they run side by side (each on its own client worker thread) instead
    /// of the first holding every slot until its tail. Alone, a batch uses all of `concurrency`.
    let batchShare: Int

    let signingKey: [UInt8]?
    /// `signingKey`'s HMAC key schedule, computed once.
    let signer: StandardWebhooks.Signer?
    let client: CurlClient
    let logger: Logger
    let clock: @Sendable () -> Date
    let slots: RequestSlots
    private let breaker: Mutex<CircuitBreaker>
    let staticHeaders: [(name: String, value: String)]
    /// The names of `staticHeaders`, lowercased, in the same order.
    let staticHeaderKeys: [String]
    /// Why a configured header cannot be sent (every item is then dead), or nil.
    let staticHeaderProblem: String?
    private let isShutDown = Atomic<Bool>(false)
    /// `deliver` calls past their first checks (waiting for a slot or sending): more than one share the slots.
    private let activeBatches = Atomic<Int>(0)

    /// - Parameters:
    ///   - signingKey: the destination's Standard Webhooks key (see ``StandardWebhooks/key(fromSecret:)``);
    ///     nil sends unsigned requests.
    ///   - client: the HTTP client; it may be shared with other sinks and is not shut down by this one.
    ///     Its `maxTotalConnections` should cover the sum of the destinations' `concurrency`, or a
    ///     hanging destination can take connections the others need.
    ///   - clock: the time for `webhook-timestamp`, HTTP-date `Retry-After` values and the breaker's cool-down.
    package init(
        name: String,
        destination: HTTPDestination,
        signingKey: [UInt8]?,
        client: CurlClient,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        let concurrency = max(1, destination.concurrency)
        self.name = name
        self.destination = destination
        // Large batches: each one costs an outbox read and a commit; the request slots bound what is in flight.
        self.maxBatchSize = concurrency * 16
        self.maxConcurrentBatches = 2
        self.batchShare = (concurrency + maxConcurrentBatches - 1) / maxConcurrentBatches
        self.signingKey = signingKey
        self.signer = signingKey.map { StandardWebhooks.Signer(key: $0) }
        self.client = client
        self.clock = clock
        self.slots = RequestSlots(limit: concurrency)
        self.breaker = Mutex(CircuitBreaker(failureThreshold: destination.breakerFailures, coolDown: destination.breakerCoolDown))
        let staticHeaders = destination.headers
            .filter { !Self.isSetBySink($0.key) }
            .sorted { $0.key < $1.key }
            .map { (name: $0.key, value: $0.value) }
        self.staticHeaders = staticHeaders
        self.staticHeaderKeys = staticHeaders.map { $0.name.lowercased() }
        self.staticHeaderProblem = staticHeaders.lazy
            .compactMap { header in Self.problem(inHeader: header.name, header.value).map { "header '\(header.name)' of destination \(name) \($0)" } }
            .first
        var logger = logger
        logger[metadataKey: "destination"] = "\(name)"
        self.logger = logger
    }

    /// The state of the destination's circuit breaker.
    package var circuitState: CircuitBreaker.State {
        breaker.withLock { $0.state }
    }

    /// Down while the circuit breaker is open.
    package var health: String? {
        let (state, failure) = breaker.withLock { ($0.state, $0.lastFailure) }
        guard case .open(let until) = state else { return nil }
        return "circuit breaker open until \(until) after: \(failure ?? "failures")"
    }

    /// Whether a bulk drain may send to the destination now: the breaker is closed, the sink is not shut
    /// down, and its static headers can be sent.
    var acceptsBulk: Bool {
        staticHeaderProblem == nil && !isShutDown.load(ordering: .acquiring) && breaker.withLock { $0.state == .closed }
    }

    /// A feed of `capacity` request slots on client worker `worker` for a bulk drain, its requests within the
    /// destination's concurrency (shared with `deliver` and export forwarding); nil when it cannot be made.
    func openBulkFeed(capacity: Int, worker: Int, source: any CurlFeedSource) -> CurlFeed? {
        let template = CurlFeedTemplate(method: destination.method, url: destination.url, connectTimeout: destination.connectTimeout,
                                        totalTimeout: destination.timeout, caFile: destination.caFile, proxy: destination.proxy)
        return client.openFeed(template: template, capacity: capacity, worker: worker,
                               tryAcquirePermit: { [slots] in slots.tryAcquire() }, releasePermit: { [slots] in slots.release() },
                               source: source)
    }

    package func deliver(_ batch: [DeliveryItem]) async -> [DeliveryOutcome] {
        guard !batch.isEmpty else { return [] }
        guard !isShutDown.load(ordering: .acquiring) else {
            return batch.map { _ in .notSent(after: nil, reason: "the HTTP sink \(name) is shut down") }
        }
        let run = HTTPSinkRun(items: batch)
        // Settled before queueing for a slot: headers that cannot be sent, and everything while the breaker turns requests away.
        var sendable = 0
        for index in batch.indices {
            if let problem = staticHeaderProblem ?? Self.problem(inRouteHeaders: batch[index].headers) {
                run.settle(index, .dead(reason: problem + "; not sent"))
            } else {
                sendable += 1
            }
        }
        if sendable > 0, let rejection = breaker.withLock({ [now = clock()] in $0.rejection(now: now) }) {
            for index in batch.indices where !run.isSettled(index) {
                run.settle(index, .notSent(after: rejection.retryAfter, reason: rejection.reason))
            }
            sendable = 0
        }
        if sendable > 0 {
            activeBatches.add(1, ordering: .relaxed)
            defer { activeBatches.subtract(1, ordering: .relaxed) }
            if await slots.acquire() {
                // Built (and signed) here, on the pool, while the worker threads are busy with other batches'
                // requests: the worker thread, which every request of the client passes through, only starts them.
                run.prepare { makeRequest(for: $0) }
                // One worker thread builds, sends and classifies the whole batch; this task waits once.
                await client.executeBatch(count: batch.count, holding: 1, window: slots.limit, share: batchShare, maxBodyBytes: Self.bodyExcerptBytes, handlers: CurlBatchHandlers(
                    request: { [self] index in startRequest(index, of: run) },
                    completed: { [self] index, result in finishRequest(index, of: run, result) },
                    tryAcquireSlot: { [slots] in slots.tryAcquire() },
                    releaseSlot: { [slots] in slots.release() },
                    slotWanted: { [self] in activeBatches.load(ordering: .relaxed) > 1 }
                ))
            } else {
                for index in batch.indices where !run.isSettled(index) {
                    run.settle(index, .notSent(after: nil, reason: "cancelled while waiting to send"))
                }
            }
        }
        let outcomes = run.outcomes
        logFailures(outcomes)
        return outcomes
    }

    /// NDJSON requests of at most `maxRecordsPerRequest` records and about `maxBytesPerRequest`
    /// bytes, sent like any delivery (signed, concurrency-limited, behind the breaker); each record's
    /// outcome is its request's.
    package func forward(_ batch: ExportRecordBatch) async -> [DeliveryOutcome] {
        var groups: [Range<Int>] = []
        var start = 0
        var bytes = 0
        for (index, record) in batch.records.enumerated() {
            let count = index - start
            if count > 0 && (count >= batch.maxRecordsPerRequest || bytes + record.value.count > batch.maxBytesPerRequest) {
                groups.append(start..<index)
                start = index
                bytes = 0
            }
            bytes += record.value.count + 96
        }
        if start < batch.records.count { groups.append(start..<batch.records.count) }
        let items = groups.map { batch.export.ndjsonItem(for: batch.records[$0], destination: name) }
        let requestOutcomes = await deliver(items)
        var outcomes: [DeliveryOutcome] = []
        outcomes.reserveCapacity(batch.records.count)
        for (group, outcome) in zip(groups, requestOutcomes) {
            outcomes.append(contentsOf: repeatElement(outcome, count: group.count))
        }
        return outcomes
    }

    /// `export.failed` as an NDJSON request of one line of kind `failed`, after the export's record lines.
    package func deliverExportFailure(_ export: ExportIdentity, body: [UInt8], destination: String) async -> DeliveryOutcome {
        await deliver([export.failedNDJSONItem(body: body, destination: name)]).first ?? .retry(after: nil, reason: "no outcome")
    }

    /// Later batches are answered `.retry`; requests in flight finish. The client is left running
    /// (it is not this sink's to stop). Idempotent.
    package func shutdown() async {
        isShutDown.store(true, ordering: .releasing)
    }

    // MARK: - One delivery (on the client's worker thread)

    /// The request for item `index`, or nil when it is settled already or the breaker turns it away.
    private func startRequest(_ index: Int, of run: HTTPSinkRun) -> HTTPRequestSpec? {
        guard !run.isSettled(index) else { return nil }
        switch breaker.withLock({ [now = clock()] in $0.admit(now: now) }) {
        case .rejected(let rejection):
            run.settle(index, .notSent(after: rejection.retryAfter, reason: rejection.reason))
            return nil
        case .admitted(let ticket):
            run.tickets[index] = ticket
        }
        return run.requests[index]
    }

    /// Classifies the answer (or failure) of item `index` and tells the breaker.
    private func finishRequest(_ index: Int, of run: HTTPSinkRun, _ result: Result<HTTPResult, CurlError>) {
        let (outcome, breakerResult): (DeliveryOutcome, CircuitBreaker.Result)
        switch result {
        case .success(let answer): (outcome, breakerResult) = self.outcome(for: answer)
        case .failure(let error): (outcome, breakerResult) = self.outcome(for: error)
        }
        run.settle(index, outcome)
        guard let ticket = run.tickets[index] else { return }
        let change = breaker.withLock { [now = clock()] breaker -> (from: CircuitBreaker.State, to: CircuitBreaker.State, failures: Int) in
            let from = breaker.state
            breaker.record(breakerResult, for: ticket, now: now)
            return (from, breaker.state, breaker.consecutiveFailures)
        }
        if change.from != change.to {
            logTransition(from: change.from, to: change.to, failures: change.failures)
        }
    }

    // MARK: - Logs

    private func logFailures(_ outcomes: [DeliveryOutcome]) {
        let summary = OutcomeSummary(outcomes)
        guard let firstReason = summary.firstReason else { return }
        let metadata: Logger.Metadata = [
            "url": "\(destination.url)", "batch": "\(outcomes.count)", "retry": "\(summary.retries)", "dead": "\(summary.dead)",
            "reason": "\(firstReason)",
        ]
        if summary.dead > 0 {
            logger.error("http deliveries dead-lettered", metadata: metadata)
        } else {
            logger.warning("http deliveries to retry", metadata: metadata)
        }
    }

    private func logTransition(from: CircuitBreaker.State, to: CircuitBreaker.State, failures: Int) {
        switch (from, to) {
        case (.open, _), (_, .halfOpen):
            return
        case (_, .open(let until)):
            logger.warning("circuit breaker opened", metadata: [
                "url": "\(destination.url)", "failures": "\(failures)", "until": "\(CloudEvents.time(until))",
            ])
        case (.halfOpen, .closed):
            logger.notice("circuit breaker closed after a successful probe", metadata: ["url": "\(destination.url)"])
        case (.closed, .closed):
            return
        }
    }
}
