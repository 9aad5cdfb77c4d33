// Runs a Dispatcher over a real SQLite outbox in a temp dir, inside a ServiceGroup, for one test.
import Foundation
import Logging
import RelayCore
import RelayDelivery
import RelayOutbox
import ServiceLifecycle

struct DispatcherHarness {
    let outbox: SQLiteOutbox
    let dispatcher: Dispatcher

    static func run(destinations: [DestinationConfig], sinks: [String: any Sink], directory: String? = nil,
                    random: @escaping @Sendable () -> Double = { 0.5 }, clock: @escaping @Sendable () -> Date = { Date() },
                    limits configure: (inout WorkerLimits) -> Void = { _ in }, logger given: Logger? = nil,
                    _ body: (DispatcherHarness) async throws -> Void) async throws {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("dispatch-\(UUID().uuidString)").path
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dir) } }
        var logger = given ?? Logger(label: "test")
        if given == nil { logger.logLevel = .error }
        let outbox = try SQLiteOutbox(dataDirectory: dir, logger: logger)
        defer { outbox.close() }
        var limits = WorkerLimits()
        limits.idleTick = .milliseconds(20)
        limits.rescanInterval = .milliseconds(100)
        configure(&limits)
        let dispatcher = Dispatcher(destinations: destinations, sinks: sinks, queue: outbox, limits: limits,
                                    random: random, clock: clock, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [dispatcher], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body(DispatcherHarness(outbox: outbox, dispatcher: dispatcher))
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Appends an event for `destinations` (all with `key`) and wakes the dispatcher.
    @discardableResult
    func accept(_ label: String, key: String? = nil, to destinations: [String]) async throws -> String {
        let event = NewEvent(id: EventID.make(), source: "s", type: "t", subject: nil, dedupeKey: UUID().uuidString,
                             receivedAt: Date(), body: Array(label.utf8),
                             deliveries: destinations.map { PlannedDelivery(destination: $0, key: key, headers: [], route: "r") },)
        let result = try await outbox.append(event)
        dispatcher.wake(destinations)
        return result.id.rawValue
    }
}

func destination(_ name: String, maxAttempts: Int = 20, maxAge: Duration = .seconds(3600),
                 initial: Duration = .milliseconds(10), max: Duration = .milliseconds(50)) -> DestinationConfig {
    DestinationConfig(name: name, kind: .kafka(KafkaDestination(brokers: "embedded", topic: name)),
                      delivery: DeliveryPolicy(maxAttempts: maxAttempts, maxAge: maxAge, initialBackoff: initial, maxBackoff: max))
}
