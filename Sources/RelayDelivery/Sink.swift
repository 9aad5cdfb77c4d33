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
    /// Forwards records of a fetched export; one outcome per record, in order. The default sends
    /// each record as one message through ``deliver(_:)`` (what Kafka wants); HTTP overrides it
    /// with NDJSON requests of several records.
    func forward(_ batch: ExportRecordBatch) async -> [DeliveryOutcome]
    /// Flushes and releases resources; called once on shutdown.
    func shutdown() async
}

extension Sink {
    public var keepsOrderWithinBatch: Bool { false }

    public func forward(_ batch: ExportRecordBatch) async -> [DeliveryOutcome] {
        guard !batch.records.isEmpty else { return [] }
        var outcomes: [DeliveryOutcome] = []
        outcomes.reserveCapacity(batch.records.count)
        var start = 0
        while start < batch.records.count {
            let end = min(start + maxBatchSize, batch.records.count)
            let items = batch.records[start..<end].map { batch.export.item(for: $0, destination: "") }
            outcomes.append(contentsOf: await deliver(items))
            start = end
        }
        return outcomes
    }
}
