// Drives every destination's deliveries from the outbox; one independent worker per destination.
// The set of destinations follows the routing table: `apply` adds, replaces and retires workers.
import Foundation
import Logging
import Metrics
import RelayCore
import RelayOutbox
import ServiceLifecycle
import Synchronization

package final class Dispatcher: Service, Sendable {
    /// Reason given to a removed destination's pending deliveries (they stay replayable).
    package static let removedReason = "destination removed"
    /// How long after a destination's removal rows committed by requests still in flight are looked for.
    static let lateRowsGrace: Duration = .seconds(2)

    private let queue: any DeliveryQueue
    private let limits: WorkerLimits
    private let random: @Sendable () -> Double
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private let state: Mutex<State>
    /// Rung when `State.changes` has something for the run loop.
    private let changesPending: AsyncStream<Void>
    private let changesPendingInput: AsyncStream<Void>.Continuation

    private struct State {
        var workers: [String: DestinationWorker] = [:]
        var sinks: [String: any Sink] = [:]
        /// Paused by the operator; kept when a destination's settings change.
        var paused: Set<String> = []
        /// Workers made but not started yet (the run loop starts them).
        var unstarted: [DestinationWorker] = []
        /// Routing-table changes the run loop has not taken yet.
        var changes: [Change] = []
        /// The run loop has ended: changes are answered at once.
        var ended = false
    }

    /// A new routing table's destinations, and what to tell the caller once the old workers have ended.
    private struct Change: Sendable {
        var destinations: [DestinationConfig]
        var sinks: [String: any Sink]
        var done: CheckedContinuation<[any Sink], Never>
    }

    /// `sinks` maps each destination name to its sink; a destination without a sink is not dispatched.
    package init(destinations: [DestinationConfig], sinks: [String: any Sink], queue: any DeliveryQueue,
                limits: WorkerLimits = WorkerLimits(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.queue = queue
        self.limits = limits
        self.random = random
        self.clock = clock
        self.logger = logger
        (changesPending, changesPendingInput) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state = Mutex(State())
        state.withLock { state in
            for destination in destinations {
                guard let sink = sinks[destination.name] else { continue }
                let worker = makeWorker(destination, sink: sink, paused: false)
                state.workers[destination.name] = worker
                state.sinks[destination.name] = sink
                state.unstarted.append(worker)
            }
        }
    }

    /// Subscribes to the outbox's commits: a commit wakes the workers of the destinations it gave rows to.
    package func follow(_ commits: CommitSignal) {
        commits.subscribe { [weak self] work in self?.wake(work.destinations) }
    }

    /// New rows exist for these destinations (the outbox committed them), or time moved (tests).
    package func wake(_ destinations: some Sequence<String>) {
        let workers = state.withLock { state in destinations.compactMap { state.workers[$0] } }
        for worker in workers { worker.wake() }
    }

    package func wakeAll() {
        for worker in state.withLock({ Array($0.workers.values) }) { worker.wake() }
    }

    /// Takes a new routing table's destinations: new ones start, removed ones stop and their pending
    /// deliveries are dead-lettered with ``removedReason``, changed ones (settings or sink) stop and start
    /// again with the new settings, so their next deliveries use them. Returns once the old workers have
    /// ended, with the sinks no longer used (the caller shuts them down once nobody else holds them).
    /// Unchanged destinations keep their worker and sink; `sinks` may repeat those.
    package func apply(destinations: [DestinationConfig], sinks: [String: any Sink]) async -> [any Sink] {
        await withCheckedContinuation { continuation in
            let change = Change(destinations: destinations, sinks: sinks, done: continuation)
            let ended = state.withLock { state in
                if !state.ended { state.changes.append(change) }
                return state.ended
            }
            if ended { continuation.resume(returning: []) } else { changesPendingInput.yield() }
        }
    }

    /// Pauses or resumes a destination: paused, it keeps its backlog and sends nothing new. False when
    /// no such destination is dispatched.
    package func setPaused(_ paused: Bool, destination: String) -> Bool {
        let worker = state.withLock { state -> DestinationWorker? in
            guard let worker = state.workers[destination] else { return nil }
            if paused { state.paused.insert(destination) } else { state.paused.remove(destination) }
            return worker
        }
        guard let worker else { return false }
        worker.setPaused(paused)
        pausedGauge(destination).record(paused ? 1 : 0)
        logger.notice(paused ? "destination paused" : "destination resumed", metadata: ["destination": "\(destination)"])
        return true
    }

    package var pausedDestinations: Set<String> { state.withLock { $0.paused } }

    package var destinations: [String] { state.withLock { $0.workers.keys.sorted() } }

    /// Runs until graceful shutdown: then stops taking new batches, waits for those in flight, and shuts the
    /// sinks. Cancelled, it ends at once (unrecorded outcomes are delivered again after the next start).
    package func run() async throws {
        logger.info("dispatcher running", metadata: ["destinations": "\(destinations.joined(separator: ","))"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                startUnstarted(in: &group)
                for await _ in changesPending {
                    while let change = state.withLock({ $0.changes.isEmpty ? nil : $0.changes.removeFirst() }) {
                        let retired = await apply(change, group: &group)
                        change.done.resume(returning: retired)
                    }
                }
                // Shutting down (or cancelled): changes not taken are answered, nothing was retired for them.
                let untaken = state.withLock { state in
                    state.ended = true
                    defer { state.changes = [] }
                    return state.changes
                }
                for change in untaken { change.done.resume(returning: []) }
                for worker in state.withLock({ Array($0.workers.values) }) { worker.stop() }
            }
        } onGracefulShutdown: {
            self.changesPendingInput.finish()
        }
        let sinks = state.withLock { state in
            defer { state.sinks = [:] }
            return Array(state.sinks.values)
        }
        for sink in sinks { await sink.shutdown() }
        logger.info("dispatcher stopped")
    }

    private func startUnstarted(in group: inout DiscardingTaskGroup) {
        for worker in state.withLock({ state in
            defer { state.unstarted = [] }
            return state.unstarted
        }) {
            group.addTask { await worker.run() }
        }
    }

    private func apply(_ change: Change, group: inout DiscardingTaskGroup) async -> [any Sink] {
        let wanted = Dictionary(change.destinations.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let (retiring, removed): ([DestinationWorker], [String]) = state.withLock { state in
            var retiring: [DestinationWorker] = []
            var removed: [String] = []
            for (name, worker) in state.workers {
                guard let config = wanted[name], let sink = change.sinks[name] else {
                    retiring.append(worker)
                    removed.append(name)
                    continue
                }
                if config != worker.destination || !Self.same(sink, worker.sink) { retiring.append(worker) }
            }
            return (retiring, removed)
        }
        for worker in retiring { worker.stop() }
        for worker in retiring { await worker.waitUntilFinished() }
        var retired: [any Sink] = []
        for name in removed {
            await deadLetterBacklog(of: name)
            // A request that began on the old table may commit a row for this destination just after the
            // swap: a second pass a little later catches it (unless the destination came back meanwhile).
            group.addTask {
                try? await Task.sleep(for: Self.lateRowsGrace)
                guard !Task.isCancelled, !self.destinations.contains(name) else { return }
                await self.deadLetterBacklog(of: name, late: true)
            }
        }
        state.withLock { state in
            for worker in retiring {
                let name = worker.destination.name
                state.workers[name] = nil
                if let sink = state.sinks.removeValue(forKey: name), !change.sinks.values.contains(where: { Self.same($0, sink) }) {
                    retired.append(sink)
                }
            }
            for paused in state.paused where wanted[paused] == nil { state.paused.remove(paused) }
            for (name, config) in wanted where state.workers[name] == nil {
                guard let sink = change.sinks[name] else { continue }
                let worker = makeWorker(config, sink: sink, paused: state.paused.contains(name))
                state.workers[name] = worker
                state.sinks[name] = sink
                state.unstarted.append(worker)
            }
        }
        startUnstarted(in: &group)
        if !retiring.isEmpty || !removed.isEmpty {
            logger.info("dispatcher destinations changed", metadata: [
                "destinations": "\(destinations.joined(separator: ","))", "removed": "\(removed.sorted().joined(separator: ","))",
            ])
        }
        return retired
    }

    /// Dead-letters the pending deliveries of a destination that left the routing table.
    private func deadLetterBacklog(of name: String, late: Bool = false) async {
        do {
            let count = try await queue.deadLetterPending(destination: name, reason: Self.removedReason, at: clock())
            guard !late || count > 0 else { return }
            logger.warning("destination removed from the routing table; its pending deliveries are dead letters (replayable)",
                           metadata: ["destination": "\(name)", "dead_lettered": "\(count)"])
        } catch {
            // They stay pending: a destination of that name coming back delivers them.
            logger.error("cannot dead-letter a removed destination's pending deliveries; they stay pending",
                         metadata: ["destination": "\(name)", "error": "\(error)"])
        }
    }

    private func makeWorker(_ destination: DestinationConfig, sink: any Sink, paused: Bool) -> DestinationWorker {
        DestinationWorker(destination: destination, sink: sink, queue: queue,
                          retryPolicy: RetryPolicy(destination.delivery, random: random), limits: limits, clock: clock,
                          paused: paused, logger: logger)
    }

    private func pausedGauge(_ destination: String) -> Gauge {
        Gauge(label: "relay_destination_paused", dimensions: [("destination", destination)])
    }

    private static func same(_ a: any Sink, _ b: any Sink) -> Bool {
        a === b
    }
}
