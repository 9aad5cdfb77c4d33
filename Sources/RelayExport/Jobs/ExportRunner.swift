// ExportRunner: the service that claims due export jobs from the outbox and runs a few at a time.
import CoreMetrics
import Foundation
import Logging
import RelayCore
import RelayCurl
import RelayOutbox
import ServiceLifecycle
import Synchronization

/// Runs export jobs (SPEC §3) as they fall due: new ones as soon as their event is committed
/// (``wake()``), not-ready ones when their poll is due. At most `maxConcurrentJobs` run at once;
/// each streams through the same sinks as the dispatcher. On shutdown, running jobs stop at once
/// and stay pending with their last checkpoint, so the next start resumes them.
package final class ExportRunner: Service, Sendable {
    private let queue: any ExportJobQueue
    /// The routing table and the destinations' sinks, as the routing service last pushed them.
    private let configuration: Mutex<(table: RoutingTable, sinks: [String: any Sink])>
    private let client: CurlClient
    private let readSecret: @Sendable (SecretReference) throws -> String
    private let maxConcurrentJobs: Int
    private let logger: Logger
    private let doorbell = Doorbell()
    private let running = Mutex<Set<EventID>>([])
    private let fetchers = Mutex<[String: (settings: ExportSourceSettings, fetcher: ExportFetcher)]>([:])
    private let metrics = ExportMetrics()
    /// How long failures other than "not ready" are retried, counted from the notification.
    static let retryDeadline: Duration = .seconds(7 * 24 * 3600)

    /// - Parameters:
    ///   - table: the routing table (source settings, route options, destination policies); see ``apply(table:sinks:)``.
    ///   - sinks: the dispatcher's sinks by destination name (shared; not shut down here).
    ///   - client: HTTP client for export and token URLs (shared; not shut down here).
    ///   - readSecret: reads a credential's value.
    package init(queue: any ExportJobQueue, table: RoutingTable, sinks: [String: any Sink],
                client: CurlClient, readSecret: @escaping @Sendable (SecretReference) throws -> String,
                maxConcurrentJobs: Int = 2, logger: Logger) {
        self.queue = queue
        self.configuration = Mutex((table, sinks))
        self.client = client
        self.readSecret = readSecret
        self.maxConcurrentJobs = max(1, maxConcurrentJobs)
        self.logger = logger
    }

    /// Looks for due jobs now (an append just recorded one).
    package func wake() {
        doorbell.ring()
    }

    /// Subscribes to the outbox's commits: a commit that recorded an export job wakes the runner.
    package func follow(_ commits: CommitSignal) {
        commits.subscribe { [weak self] work in
            if work.exportJobs { self?.wake() }
        }
    }

    /// A new routing table and its sinks: jobs that start from now on use them (running jobs finish on
    /// the ones they started with).
    package func apply(table: RoutingTable, sinks: [String: any Sink]) {
        configuration.withLock { $0 = (table, sinks) }
        doorbell.ring()
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
    }

    private func loop() async {
        var readFailures = RepeatedFailure()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let busy = running.withLock { $0 }
                var wait: Duration?
                if busy.count < maxConcurrentJobs {
                    do {
                        let due = try await queue.dueExportJobs(now: Date(), limit: maxConcurrentJobs - busy.count, excluding: busy)
                        for job in due {
                            running.withLock { _ = $0.insert(job.eventID) }
                            group.addTask {
                                await self.process(job)
                                self.running.withLock { _ = $0.remove(job.eventID) }
                                self.doorbell.ring()
                            }
                        }
                        readFailures.succeeded()
                    } catch {
                        if Task.isCancelled { break }
                        let decision = readFailures.failed(now: .now)
                        wait = decision.delay
                        if decision.log {
                            var metadata: Logger.Metadata = ["error": "\(error)", "retry_in": "\(decision.delay)"]
                            if decision.suppressed > 0 { metadata["suppressed"] = "\(decision.suppressed)" }
                            logger.error("cannot read export jobs from the outbox", metadata: metadata)
                        }
                    }
                }
                if Task.isCancelled { break }
                if wait == nil { wait = await nextWait() }
                await doorbell.wait(timeout: wait ?? .seconds(30))
            }
        }
    }

    /// Until the next pending job is due, between 10 ms and 30 s.
    private func nextWait() async -> Duration {
        let busy = running.withLock { $0 }
        guard busy.count < maxConcurrentJobs, let next = try? await queue.nextExportJobDue(excluding: busy) else {
            return .seconds(30)
        }
        let seconds = min(max(next.timeIntervalSinceNow, 0.01), 30)
        return .milliseconds(Int64(seconds * 1000))
    }

    // MARK: - One job

    private func process(_ job: ExportJob) async {
        var logger = self.logger
        logger[metadataKey: "event"] = "\(job.eventID)"
        logger[metadataKey: "executionRef"] = "\(job.executionRef)"
        let (table, sinks) = configuration.withLock { $0 }
        let setup: ExportJobSetup
        switch resolve(job, in: table, sinks: sinks) {
        case .success(let resolved):
            setup = resolved
        case .failure(let failure):
            await conclude(job, progress: job.progress, failure: failure, settings: table.source(named: job.source)?.export,
                           destinations: reachableDestinations(job, in: table, sinks: sinks), logger: logger)
            return
        }
        let run = ExportJobRun(job: job, setup: setup, queue: queue, metrics: metrics, logger: logger)
        do {
            try await run.run()
            let (queue, progress) = (self.queue, run.progress)
            // Recorded even if shutdown begins now: export.completed has gone out.
            try await Task { try await queue.finishExportJob(eventID: job.eventID, state: .done, error: nil, progress: progress, at: Date()) }.value
            metrics.done.increment()
        } catch let failure as ExportJobFailure {
            await conclude(job, progress: run.progress, failure: failure, settings: setup.settings,
                           destinations: setup.destinations, logger: logger)
        } catch {
            await conclude(job, progress: run.progress, failure: .retry("cannot record the finished export: \(error)"),
                           settings: setup.settings, destinations: setup.destinations, logger: logger)
        }
    }

    /// Records how an attempt ended: dead (after telling `destinations` with `export.failed`), or
    /// pending again with its back-off; on shutdown just the checkpoint.
    private func conclude(_ job: ExportJob, progress: ExportProgress, failure: ExportJobFailure,
                          settings: ExportSourceSettings?, destinations: [ExportDestination], logger: Logger) async {
        let now = Date()
        do {
            if Task.isCancelled {
                // The outbox refuses work from a cancelled task; the checkpoint is saved from one that is not.
                let queue = self.queue
                try await Task { try await queue.saveExportProgress(eventID: job.eventID, progress: progress, at: now) }.value
                logger.info("export paused for shutdown", metadata: ["file": "\(progress.fileIndex)", "record": "\(progress.recordIndex)"])
                return
            }
            let verdict: RetryPolicy.Verdict
            switch failure.kind {
            case .dead:
                verdict = .refused(reason: failure.reason)
            case .notReady, .retry:
                let polling = settings ?? ExportSourceSettings(allowHosts: [])
                // Not ready: poll until pollDeadline. Other failures (network, 429/5xx, a stall, a
                // destination down) may hit a long export late in its life: they get a week.
                var retryAfter: Duration?
                var deadline = polling.pollDeadline
                if case .retry(let after) = failure.kind {
                    retryAfter = after
                    deadline = max(deadline, Self.retryDeadline)
                }
                let policy = RetryPolicy(DeliveryPolicy(maxAttempts: Int.max, maxAge: deadline,
                                                        initialBackoff: polling.pollInitialDelay, maxBackoff: polling.pollMaxDelay))
                verdict = policy.verdict(on: .retry(after: retryAfter, reason: failure.reason), attempt: job.attempts + 1,
                                         createdAt: job.createdAt, now: now)
            }
            switch verdict {
            case .retry(let next, _):
                if failure.kind == .notReady { metrics.polls.increment() } else { metrics.retries.increment() }
                try await queue.rescheduleExportJob(eventID: job.eventID, next: next, error: failure.reason, progress: progress, at: now)
                let level: Logger.Level = failure.kind == .notReady ? .debug : .warning
                logger.log(level: level, "export attempt ended; trying again later", metadata: [
                    "reason": "\(failure.reason)", "next": "\(next)", "attempt": "\(job.attempts + 1)",
                ])
            case .delivered:
                return  // not a verdict on a failure
            case .refused(let reason), .gaveUp(let reason):
                // Told before the job is recorded dead: a crash in between runs the job again, which fails again and tells again.
                await announceFailure(job, progress: progress, reason: reason, upstreamStatus: failure.upstreamStatus,
                                      to: destinations, logger: logger)
                let queue = self.queue
                // Recorded even if shutdown begins now: export.failed has gone out.
                try await Task {
                    try await queue.finishExportJob(eventID: job.eventID, state: .dead, error: reason, progress: progress, at: now)
                }.value
                metrics.failed.increment()
                logger.error("export dead-lettered", metadata: ["reason": "\(reason)"])
            }
        } catch {
            logger.error("cannot record the export job's state in the outbox", metadata: ["error": "\(error)"])
        }
    }

    /// Sends `export.failed` to the job's destinations. Best effort: a destination that does not
    /// confirm it is logged, and the job is dead-lettered all the same.
    private func announceFailure(_ job: ExportJob, progress: ExportProgress, reason: String, upstreamStatus: Int?,
                                 to destinations: [ExportDestination], logger: Logger) async {
        guard !destinations.isEmpty else {
            logger.error("export.failed goes nowhere: none of the job's destinations is configured", metadata: [
                "destinations": "\(job.destinations.joined(separator: ","))",
            ])
            return
        }
        let body = ExportFraming.failed(job: job, progress: progress, reason: reason, upstreamStatus: upstreamStatus)
        let problems = await RecordDelivery.deliverFailure(body: body, export: job.identity, to: destinations)
        for problem in problems {
            logger.error("export.failed was not delivered; the job is dead-lettered anyway", metadata: ["problem": "\(problem)"])
        }
    }

    /// The job's destinations that the routing table still configures, for `export.failed` when
    /// the job itself cannot be set up (its source removed, say).
    private func reachableDestinations(_ job: ExportJob, in table: RoutingTable, sinks: [String: any Sink]) -> [ExportDestination] {
        var names = job.destinations
        if names.isEmpty {
            names = table.routes.filter { $0.fetchExport && $0.sources.contains(job.source) }.flatMap(\.destinations)
        }
        var seen = Set<String>()
        return names.compactMap { name in
            guard seen.insert(name).inserted, let sink = sinks[name], let config = table.destination(named: name) else { return nil }
            return ExportDestination(name: name, sink: sink, policy: config.delivery)
        }
    }

    private func resolve(_ job: ExportJob, in table: RoutingTable, sinks: [String: any Sink]) -> Result<ExportJobSetup, ExportJobFailure> {
        guard let source = table.source(named: job.source), let settings = source.export else {
            return .failure(.dead("source '\(job.source)' has no export: section in the routing table any more"))
        }
        var route = table.route(named: job.route)
        var names = job.destinations
        if names.isEmpty {
            // A job recorded before jobs stored their route: the routes that fetch this source's exports now.
            let fetching = table.routes.filter { $0.fetchExport && $0.sources.contains(job.source) }
            route = fetching.first
            for destination in fetching.flatMap(\.destinations) where !names.contains(destination) { names.append(destination) }
            guard !names.isEmpty else {
                return .failure(.dead("no route fetches exports of source '\(job.source)', and the job names no destination"))
            }
        }
        let forwarding = route?.export ?? ExportForwarding()
        var destinations: [ExportDestination] = []
        for name in names {
            guard let sink = sinks[name], let config = table.destination(named: name) else {
                return .failure(.retry("destination '\(name)' is not configured"))
            }
            destinations.append(ExportDestination(name: name, sink: sink, policy: config.delivery))
        }
        return .success(ExportJobSetup(settings: settings, forwarding: forwarding, destinations: destinations,
                                       fetcher: fetcher(source: source.name, settings: settings)))
    }

    /// One fetcher per source (it caches the OAuth2 token), rebuilt when the source's settings change.
    private func fetcher(source: String, settings: ExportSourceSettings) -> ExportFetcher {
        fetchers.withLock { cache in
            if let cached = cache[source], cached.settings == settings { return cached.fetcher }
            let fetcher = ExportFetcher(source: source, settings: settings, client: client, secrets: readSecret, logger: logger)
            cache[source] = (settings, fetcher)
            return fetcher
        }
    }
}
