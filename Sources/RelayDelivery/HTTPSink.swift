// HTTPSink: delivers each item as one signed CloudEvents request to an HTTP endpoint, behind a concurrency limit and a circuit breaker.
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
public final class HTTPSink: Sink {
    /// How much of an error response's body a reason quotes.
    public static let bodyExcerptBytes = 200

    /// The destination's name in the routing table (used in logs).
    public let name: String
    public let destination: HTTPDestination
    public let maxBatchSize: Int
    public let maxConcurrentBatches: Int

    private let signingKey: [UInt8]?
    private let client: CurlClient
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let slots: RequestSlots
    private let breaker: Mutex<CircuitBreaker>
    private let staticHeaders: [(name: String, value: String)]
    /// The names of `staticHeaders`, lowercased, in the same order.
    private let staticHeaderKeys: [String]
    /// Why a configured header cannot be sent (every item is then dead), or nil.
    private let staticHeaderProblem: String?
    private let isShutDown = Atomic<Bool>(false)

    /// - Parameters:
    ///   - signingKey: the destination's Standard Webhooks key (see ``StandardWebhooks/key(fromSecret:)``);
    ///     nil sends unsigned requests.
    ///   - client: the HTTP client; it may be shared with other sinks and is not shut down by this one.
    ///     Its `maxTotalConnections` should cover the sum of the destinations' `concurrency`, or a
    ///     hanging destination can take connections the others need.
    ///   - clock: the time for `webhook-timestamp`, HTTP-date `Retry-After` values and the breaker's cool-down.
    public init(
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
        self.signingKey = signingKey
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
    public var circuitState: CircuitBreaker.State {
        breaker.withLock { $0.state }
    }

    /// Down while the circuit breaker is open.
    public var health: String? {
        let (state, failure) = breaker.withLock { ($0.state, $0.lastFailure) }
        guard case .open(let until) = state else { return nil }
        return "circuit breaker open until \(until) after: \(failure ?? "failures")"
    }

    public func deliver(_ batch: [DeliveryItem]) async -> [DeliveryOutcome] {
        guard !batch.isEmpty else { return [] }
        guard !isShutDown.load(ordering: .acquiring) else {
            return batch.map { _ in .retry(after: nil, reason: "the HTTP sink \(name) is shut down") }
        }
        var outcomes: [DeliveryOutcome]
        if batch.count == 1 {
            outcomes = [await deliverItem(batch[0])]
        } else {
            outcomes = [DeliveryOutcome](repeating: .retry(after: nil, reason: "not attempted"), count: batch.count)
            await withTaskGroup(of: (Int, DeliveryOutcome).self) { group in
                for (index, item) in batch.enumerated() {
                    group.addTask { (index, await self.deliverItem(item)) }
                }
                for await (index, outcome) in group {
                    outcomes[index] = outcome
                }
            }
        }
        logFailures(outcomes)
        return outcomes
    }

    /// NDJSON requests of at most `maxRecordsPerRequest` records and about `maxBytesPerRequest`
    /// bytes, sent like any delivery (signed, concurrency-limited, behind the breaker); each record's
    /// outcome is its request's.
    public func forward(_ batch: ExportRecordBatch) async -> [DeliveryOutcome] {
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
    public func deliverExportFailure(_ export: ExportIdentity, body: [UInt8], destination: String) async -> DeliveryOutcome {
        await deliver([export.failedNDJSONItem(body: body, destination: name)]).first ?? .retry(after: nil, reason: "no outcome")
    }

    /// Later batches are answered `.retry`; requests in flight finish. The client is left running
    /// (it is not this sink's to stop). Idempotent.
    public func shutdown() async {
        isShutDown.store(true, ordering: .releasing)
    }

    // MARK: - One delivery

    private func deliverItem(_ item: DeliveryItem) async -> DeliveryOutcome {
        if let problem = staticHeaderProblem ?? Self.problem(inRouteHeaders: item.headers) {
            return .dead(reason: problem + "; not sent")
        }
        if let rejection = breaker.withLock({ [now = clock()] in $0.rejection(now: now) }) {
            return .retry(after: rejection.retryAfter, reason: rejection.reason)
        }
        guard await slots.acquire() else {
            return .retry(after: nil, reason: "cancelled while waiting to send")
        }
        defer { slots.release() }

        let ticket: CircuitBreaker.Ticket
        switch breaker.withLock({ [now = clock()] in $0.admit(now: now) }) {
        case .rejected(let rejection):
            return .retry(after: rejection.retryAfter, reason: rejection.reason)
        case .admitted(let admitted):
            ticket = admitted
        }
        // Built (and signed) only now that it can go out, so the timestamp is fresh.
        let (outcome, result) = await send(makeRequest(for: item))
        let change = breaker.withLock { [now = clock()] breaker -> (from: CircuitBreaker.State, to: CircuitBreaker.State, failures: Int) in
            let from = breaker.state
            breaker.record(result, for: ticket, now: now)
            return (from, breaker.state, breaker.consecutiveFailures)
        }
        logTransition(from: change.from, to: change.to, failures: change.failures)
        return outcome
    }

    /// The request for `item`, whose headers were checked by ``problem(inRouteHeaders:)``.
    private func makeRequest(for item: DeliveryItem) -> HTTPRequestSpec {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(staticHeaders.count + item.headers.count + 10)
        if item.headers.isEmpty {
            headers.append(contentsOf: staticHeaders)
        } else {
            let routeNames = Set(item.headers.map { $0.name.lowercased() })
            for (index, header) in staticHeaders.enumerated() where !routeNames.contains(staticHeaderKeys[index]) {
                headers.append(header)
            }
            for header in item.headers where !Self.isSetBySink(header.name) {
                headers.append((header.name, header.value))
            }
        }
        for attribute in CloudEvents.attributes(of: item) {
            headers.append(("ce-" + attribute.name, attribute.value))
        }
        headers.append(("Content-Type", item.contentType))
        if let signingKey {
            let timestamp = Int64(clock().timeIntervalSince1970.rounded(.down))
            headers.append(("webhook-id", item.eventID))
            headers.append(("webhook-timestamp", String(timestamp)))
            headers.append(("webhook-signature",
                            StandardWebhooks.headerValue(key: signingKey, id: item.eventID, timestamp: timestamp, body: item.body)))
        }
        return HTTPRequestSpec(
            method: destination.method,
            url: destination.url,
            headers: headers,
            body: item.body,
            connectTimeout: destination.connectTimeout,
            totalTimeout: destination.timeout,
            caFile: destination.caFile,
            proxy: destination.proxy,
            followRedirects: false
        )
    }

    private func send(_ request: HTTPRequestSpec) async -> (DeliveryOutcome, CircuitBreaker.Result) {
        do {
            let result = try await client.execute(request, maxBodyBytes: Self.bodyExcerptBytes)
            return outcome(for: result)
        } catch {
            return outcome(for: error)
        }
    }

    // MARK: - Outcomes

    /// An answer that is neither 2xx nor retriable proves the destination is up, so it counts
    /// as a success for the breaker even though the item is dead.
    private func outcome(for result: HTTPResult) -> (DeliveryOutcome, CircuitBreaker.Result) {
        let status = result.head.status
        if (200..<300).contains(status) { return (.delivered, .success) }
        let excerpt = Self.excerpt(result.body, truncated: result.bodyTruncated)
        let reason = excerpt.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(excerpt)"
        if destination.retryOnStatus.contains(status) {
            let after = result.head.header("Retry-After").flatMap { RetryAfter.parse($0, now: clock()) }
            return (.retry(after: after, reason: reason), .failure(reason: reason))
        }
        if (300..<400).contains(status) {
            let target = result.head.header("Location").map { "redirect to \($0)" } ?? "redirect without a Location"
            return (.dead(reason: "HTTP \(status) \(target) (redirects are not followed)"), .success)
        }
        return (.dead(reason: reason), .success)
    }

    private func outcome(for error: CurlError) -> (DeliveryOutcome, CircuitBreaker.Result) {
        let reason = "\(error.kind): \(error.message)"
        switch error.kind {
        case .tls where error.code != Self.curlHandshakeFailed:
            // Certificate problems (unknown CA, wrong host name, expired, unreadable CA file)
            // fail the same way on every attempt until someone changes the configuration or the
            // certificate, so retrying only delays the dead letter, and counting them as breaker
            // failures would hold back nothing that could succeed. Dead-letter now; replay after
            // the fix. The destination did answer, so the breaker sees a success.
            return (.dead(reason: reason), .success)
        case .tls, .connect, .timeout, .resolve, .network, .other:
            // A handshake cut short (CURLE_SSL_CONNECT_ERROR) is usually a reset connection,
            // which heals like any other network failure.
            return (.retry(after: nil, reason: reason), .failure(reason: reason))
        case .cancelled, .shutdown:
            return (.retry(after: nil, reason: reason), .abandoned)
        case .refusedPeer:
            // Sinks set no peer check; should one refuse, nothing was sent and nothing will change.
            return (.dead(reason: reason), .abandoned)
        }
    }

    /// libcurl's `CURLE_SSL_CONNECT_ERROR`: the TLS handshake did not complete (as opposed to a
    /// certificate that failed verification).
    private static let curlHandshakeFailed = 35

    /// The first ``bodyExcerptBytes`` of a body as one line of text.
    private static func excerpt(_ body: [UInt8], truncated: Bool) -> String {
        let bytes = body.prefix(bodyExcerptBytes).map { $0 == 0x0d || $0 == 0x0a || $0 == 0x09 ? UInt8(ascii: " ") : $0 }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return truncated || body.count > bodyExcerptBytes ? text + "…" : text
    }

    // MARK: - Headers

    /// Headers the sink sets itself (or libcurl does), which config and routes may not override.
    private static func isSetBySink(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasPrefix("ce-") || reservedHeaders.contains(lower)
    }

    private static let reservedHeaders: Set<String> = [
        "content-type", "content-length", "transfer-encoding", "webhook-id", "webhook-timestamp", "webhook-signature",
    ]

    /// Why a rendered route header cannot be sent, or nil.
    private static func problem(inRouteHeaders headers: [PlannedDelivery.Header]) -> String? {
        for header in headers where !isSetBySink(header.name) {
            if let problem = problem(inHeader: header.name, header.value) { return "route header '\(header.name)' \(problem)" }
        }
        return nil
    }

    /// Why a header cannot be sent as is, or nil.
    private static func problem(inHeader name: String, _ value: String) -> String? {
        if name.isEmpty || name.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7f || $0 == UInt8(ascii: ":") }) {
            return "is not a valid header name"
        }
        if value.utf8.contains(where: { $0 == 0 || $0 == 0x0a || $0 == 0x0d }) {
            return "contains CR, LF or NUL"
        }
        return nil
    }

    // MARK: - Logs

    private func logFailures(_ outcomes: [DeliveryOutcome]) {
        var retries = 0
        var dead = 0
        var firstReason: String?
        for outcome in outcomes {
            switch outcome {
            case .delivered:
                continue
            case .retry(_, let reason):
                retries += 1
                if firstReason == nil { firstReason = reason }
            case .dead(let reason):
                dead += 1
                if firstReason == nil { firstReason = reason }
            }
        }
        guard let firstReason else { return }
        let metadata: Logger.Metadata = [
            "url": "\(destination.url)", "batch": "\(outcomes.count)", "retry": "\(retries)", "dead": "\(dead)",
            "reason": "\(firstReason)",
        ]
        if dead > 0 {
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

/// At most `limit` holders at once; waiters are served first come, first served.
final class RequestSlots: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var available: Int
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
    }

    private let state: Mutex<State>

    init(limit: Int) {
        state = Mutex(State(available: max(1, limit)))
    }

    /// Takes a slot, waiting for one if need be; false (and no slot) when the task is cancelled first.
    func acquire() async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    // Checked under the lock: a cancellation handler that ran before it has set
                    // the flag; one that runs after it finds this waiter in the list.
                    if Task.isCancelled { return false }
                    if state.available > 0 {
                        state.available -= 1
                        return true
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: false)
        }
    }

    /// Returns a slot: to the longest waiter, if any.
    func release() {
        let next = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }
}
