// The contract between the dispatcher and a destination: deliver a batch, answer one outcome per item.
import RelayCore

public protocol Sink: Sendable {
    /// Delivers `batch` (all for this sink's destination) and returns outcomes in the same order.
    /// Returns only once each outcome is known (e.g. the Kafka delivery report arrived).
    func deliver(_ batch: [DeliveryItem]) async -> [DeliveryOutcome]
    /// Largest batch the dispatcher should hand over at once.
    var maxBatchSize: Int { get }
    /// How many batches may be in flight at once (per-key order is kept by the dispatcher either way).
    var maxConcurrentBatches: Int { get }
    /// True when items of one key in one batch reach the destination in batch order even across retries
    /// (Kafka's idempotent producer), so the dispatcher may batch a key's run instead of one at a time.
    var keepsOrderWithinBatch: Bool { get }
    /// Flushes and releases resources; called once on shutdown.
    func shutdown() async
}

extension Sink {
    public var keepsOrderWithinBatch: Bool { false }
}
