// Periodic outbox upkeep: depth and oldest-pending-age gauges per destination, and pruning of delivered rows.
import Foundation
import Logging
import Metrics
import RelayCore
import RelayOutbox
import ServiceLifecycle

struct OutboxMaintenance: Service {
    let queue: any DeliveryQueue
    /// The running routing table's destinations: the gauges are kept for these.
    let destinations: @Sendable () -> [String]
    let retention: Duration
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        var sincePrune = Duration.zero
        var gauges: [String: DestinationGauges] = [:]
        while !Task.isCancelled {
            await publishStats(into: &gauges)
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

    /// Gauges are made once per destination, the first time it shows up in the statistics.
    private func publishStats(into gauges: inout [String: DestinationGauges]) async {
        guard let stats = try? await queue.pendingStats(destinations: destinations(), now: Date()) else { return }
        for entry in stats {
            let gauge = gauges[entry.destination] ?? DestinationGauges(destination: entry.destination)
            gauges[entry.destination] = gauge
            gauge.pending.record(entry.pending)
            gauge.oldestPendingSeconds.record(entry.oldestPendingAge ?? 0)
            gauge.dead.record(entry.dead)
        }
    }
}

private struct DestinationGauges {
    let pending: Gauge
    let oldestPendingSeconds: Gauge
    let dead: Gauge

    init(destination: String) {
        pending = Gauge(label: "relay_outbox_pending", dimensions: [("destination", destination)])
        oldestPendingSeconds = Gauge(label: "relay_outbox_oldest_pending_seconds", dimensions: [("destination", destination)])
        dead = Gauge(label: "relay_outbox_dead", dimensions: [("destination", destination)])
    }
}
