// Periodic outbox upkeep: depth and oldest-pending-age gauges per destination, and pruning of delivered rows.
import Foundation
import Logging
import Metrics
import RelayCore
import RelayOutbox
import ServiceLifecycle

struct OutboxMaintenance: Service {
    let queue: any DeliveryQueue
    let retention: Duration
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        var sincePrune = Duration.zero
        while !Task.isCancelled {
            await publishStats()
            if sincePrune >= .seconds(60) {
                sincePrune = .zero
                do {
                    let removed = try await queue.prune(deliveredBefore: Date().addingTimeInterval(-retention.seconds))
                    if removed > 0 { logger.info("pruned delivered rows", metadata: ["count": "\(removed)"]) }
                } catch {
                    logger.error("prune failed", metadata: ["error": "\(error)"])
                }
            }
            try await Task.sleep(for: interval)
            sincePrune += interval
        }
    }

    private func publishStats() async {
        guard let stats = try? await queue.stats(now: Date()) else { return }
        for entry in stats {
            Gauge(label: "relay_outbox_pending", dimensions: [("destination", entry.destination)]).record(entry.pending)
            Gauge(label: "relay_outbox_oldest_pending_seconds", dimensions: [("destination", entry.destination)])
                .record(entry.oldestPendingAge ?? 0)
            Gauge(label: "relay_outbox_dead", dimensions: [("destination", entry.destination)]).record(entry.dead)
        }
    }
}
