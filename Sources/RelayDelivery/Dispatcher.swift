// Drives every destination's deliveries from the outbox; one independent worker per destination.
import Foundation
import Logging
import RelayCore
import RelayOutbox
import ServiceLifecycle

public final class Dispatcher: Service, Sendable {
    private let workers: [String: DestinationWorker]
    private let logger: Logger

    /// `sinks` maps each destination name to its sink; a destination without a sink is not dispatched.
    public init(destinations: [DestinationConfig], sinks: [String: any Sink], queue: any DeliveryQueue,
                limits: WorkerLimits = WorkerLimits(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        var workers: [String: DestinationWorker] = [:]
        for destination in destinations {
            guard let sink = sinks[destination.name] else { continue }
            workers[destination.name] = DestinationWorker(
                destination: destination, sink: sink, queue: queue,
                retryPolicy: RetryPolicy(destination.delivery, random: random), limits: limits, clock: clock, logger: logger)
        }
        self.workers = workers
        self.logger = logger
    }

    /// New rows exist for these destinations (called after an ingest commit), or time moved (tests).
    public func wake(_ destinations: some Sequence<String>) {
        for name in destinations { workers[name]?.wake() }
    }

    public func wakeAll() {
        for worker in workers.values { worker.wake() }
    }

    /// Runs until graceful shutdown: then stops taking new batches, waits for those in flight, and shuts the sinks.
    public func run() async throws {
        logger.info("dispatcher running", metadata: ["destinations": "\(workers.keys.sorted().joined(separator: ","))"])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for worker in workers.values {
                    group.addTask { await worker.run() }
                }
            }
        } onGracefulShutdown: {
            for worker in self.workers.values { worker.stop() }
        }
        for worker in workers.values { await worker.sink.shutdown() }
        logger.info("dispatcher stopped")
    }
}
