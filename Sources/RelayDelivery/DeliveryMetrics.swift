// Delivery counters and latency per destination, created once.
import Metrics
import RelayCore

struct DeliveryMetrics: Sendable {
    let delivered: Counter
    let retried: Counter
    let dead: Counter
    /// From acceptance (outbox commit) to the destination's confirmation.
    let latency: Timer

    init(destination: String) {
        delivered = Counter(label: "relay_deliveries_total", dimensions: [("destination", destination), ("outcome", "delivered")])
        retried = Counter(label: "relay_deliveries_total", dimensions: [("destination", destination), ("outcome", "retry")])
        dead = Counter(label: "relay_deliveries_total", dimensions: [("destination", destination), ("outcome", "dead")])
        latency = Timer(label: "relay_delivery_latency_seconds", dimensions: [("destination", destination)], preferredDisplayUnit: .seconds)
    }
}
